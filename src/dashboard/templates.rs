//! The Templates pages: the list (status, unpublished changes), a new-template form, and
//! each template's page (edit the current version, preview it, publish, duplicate, delete).
//! Every change goes through `crate::templates::service`, as the API's do. Any team member
//! may edit templates, like contacts.
//!
//! The preview is a separate response framed by the template's page, as for sent emails
//! (`pages::sandboxed_preview`): the template's HTML in a sandboxed frame that runs no
//! script and loads nothing remote, so its styles apply and the dashboard is not exposed.

use std::borrow::Cow;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::Value;

use super::crud::{Confirm, ConfirmPage, Notice, done};
use super::csrf::{CsrfForm, FormFields};
use super::format;
use super::pages::{
    PageResult, Shell, form_addresses, form_text, refusal, render, sandboxed_preview,
};
use super::session::{CurrentSession, Item};
use crate::auth::sessions::Session;
use crate::handle::App;
use crate::http::pagination::Page;
use crate::templates::service::{self, TemplateInput};
use crate::templates::substitute::{self, Target, Values};
use crate::templates::variables::{Variable, VariableInput};

const LIST: &str = "/dashboard/templates";
const SECTION: &str = "templates";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page))
        .route("/dashboard/templates/new", get(new_form).post(create))
        .route("/dashboard/templates/{id}", get(edit_page).post(update))
        .route("/dashboard/templates/{id}/publish", post(publish))
        .route("/dashboard/templates/{id}/duplicate", post(duplicate))
        .route(
            "/dashboard/templates/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

/// Served outside the dashboard's page headers: it sets its own (see the module comment).
pub fn preview_routes() -> Router<App> {
    Router::new().route("/dashboard/templates/{id}/preview", get(preview))
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub alias: String,
    pub published: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "templates/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    notice: Option<&'static str>,
}

/// The form's values, as typed.
#[derive(Default)]
pub struct TemplateForm {
    pub name: String,
    pub alias: String,
    pub from: String,
    pub subject: String,
    pub reply_to: String,
    pub html: String,
    pub text: String,
    /// One variable per line: `KEY type [fallback]`.
    pub variables: String,
}

impl TemplateForm {
    fn of(fields: &FormFields) -> Self {
        let field = |name| fields.text(name).to_string();
        Self {
            name: field("name"),
            alias: field("alias"),
            from: field("from"),
            subject: field("subject"),
            reply_to: field("reply_to"),
            // Browsers send textarea line breaks as CRLF.
            html: field("html").replace("\r\n", "\n"),
            text: field("text").replace("\r\n", "\n"),
            variables: field("variables"),
        }
    }

    fn of_template(t: &service::Template) -> Self {
        let c = &t.content;
        Self {
            name: t.name.clone(),
            alias: t.alias.clone().unwrap_or_default(),
            from: c.from.clone().unwrap_or_default(),
            subject: c.subject.clone().unwrap_or_default(),
            reply_to: c.reply_to.join(", "),
            html: c.html.clone(),
            text: c.text.clone().unwrap_or_default(),
            variables: c
                .variables
                .iter()
                .map(variable_line)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Every field, so a save replaces the whole template (empty clears).
    fn input(&self) -> TemplateInput {
        TemplateInput {
            name: Some(self.name.clone()),
            alias: Some(form_text(&self.alias)),
            from: Some(form_text(&self.from)),
            subject: Some(form_text(&self.subject)),
            reply_to: Some(form_addresses(&self.reply_to)),
            html: Some(self.html.clone()),
            text: Some((!self.text.trim().is_empty()).then(|| self.text.clone())),
            variables: Some(Some(parse_variables(&self.variables))),
        }
    }
}

/// The inputs of the template form, as `m::form_error` lists them.
const FIELDS: &str = "name,alias,from,subject,reply_to,html,text,variables";

/// A refusal placed under its input: the service names most fields in backticks; messages
/// about a variable (declared twice, reserved, used but not declared) name the variable,
/// and the one about a taken alias names the alias.
fn placed(message: String) -> String {
    super::pages::placed(
        message,
        FIELDS,
        &[("variable", "variables"), ("alias", "alias")],
    )
}

fn variable_line(v: &Variable) -> String {
    match &v.fallback_value {
        None => format!("{} {}", v.key, v.kind),
        Some(value) => format!("{} {} {}", v.key, v.kind, substitute::display(value)),
    }
}

/// `KEY type [fallback]` per line; the fallback is text for strings and JSON otherwise
/// (left as text when it is not JSON, so the service names the type mismatch).
fn parse_variables(text: &str) -> Vec<VariableInput> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut parts = line.splitn(3, char::is_whitespace);
            let key = parts.next().map(str::to_string);
            let kind = parts.next().map(str::to_string);
            let fallback = parts.next().map(str::trim).filter(|f| !f.is_empty());
            let fallback_value = fallback.map(|f| match kind.as_deref() {
                Some("string") | None => Value::String(f.to_string()),
                _ => serde_json::from_str(f).unwrap_or_else(|_| Value::String(f.to_string())),
            });
            VariableInput {
                key,
                kind,
                fallback_value,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "templates/form.html")]
struct FormPage {
    shell: Shell,
    /// `None` for a new template.
    template: Option<Summary>,
    form: TemplateForm,
    error: Option<String>,
    notice: Option<&'static str>,
}

/// What the template's page shows besides the form.
pub struct Summary {
    pub id: String,
    pub name: String,
    pub published: bool,
    pub has_unpublished: bool,
    pub published_at: String,
    pub updated: String,
}

impl Summary {
    fn of(t: &service::Template) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            published: t.status == service::PUBLISHED,
            has_unpublished: t.has_unpublished_versions(),
            published_at: t.published_at.map(format::exact).unwrap_or_default(),
            updated: format::exact(t.updated_at),
        }
    }
}

/// Every template of the team (newest first); teams keep tens, not thousands.
async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let session = &current.session;
    let page = Page::everything();
    let rows = service::list(&app, &session.user.team_id, &page)
        .await?
        .data
        .into_iter()
        .map(|t| Row {
            published: t.status == service::PUBLISHED,
            alias: t.alias.unwrap_or_default(),
            updated: format::date(t.updated_at),
            id: t.id,
            name: t.name,
        })
        .collect();
    let notice = notice.message(&[("deleted", "Template deleted.")]);
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        rows,
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

fn form_page(
    session: &Session,
    template: Option<Summary>,
    form: TemplateForm,
    error: Option<String>,
    notice: Option<&'static str>,
) -> FormPage {
    FormPage {
        shell: Shell::in_section(session, SECTION),
        template,
        form,
        error,
        notice,
    }
}

async fn new_form(current: CurrentSession) -> PageResult {
    let form = TemplateForm {
        html: "<p>Hi {{{NAME|there}}},</p>\n".into(),
        variables: "NAME string".into(),
        ..TemplateForm::default()
    };
    let page = form_page(&current.session, None, form, None, None);
    Ok(render(StatusCode::OK, &page))
}

async fn create(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let typed = TemplateForm::of(&form.fields);
    match service::create(&app, &session.user.team_id, typed.input()).await {
        Ok(t) => Ok(done(&format!("{LIST}/{}", t.id), "created")),
        Err(err) => {
            let err = placed(refusal(err)?);
            let page = form_page(session, None, typed, Some(err), None);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn edit_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    notice: Notice,
) -> PageResult {
    let session = &current.session;
    let template = service::get(&app, &session.user.team_id, &current.id).await?;
    let notice = notice.message(&[
        (
            "created",
            "Template created as a draft. Publish it to send with it.",
        ),
        ("saved", "Saved."),
        (
            "published",
            "Published: emails sent with this template now use this version.",
        ),
        ("duplicated", "This is the copy, a new draft."),
    ]);
    let page = form_page(
        session,
        Some(Summary::of(&template)),
        TemplateForm::of_template(&template),
        None,
        notice,
    );
    Ok(render(StatusCode::OK, &page))
}

async fn update(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let typed = TemplateForm::of(&form.fields);
    match service::update(&app, team, &form.id, typed.input()).await {
        Ok(t) => Ok(done(&format!("{LIST}/{}", t.id), "saved")),
        Err(err) => {
            let err = placed(refusal(err)?);
            let template = service::get(&app, team, &form.id).await?;
            let page = form_page(
                session,
                Some(Summary::of(&template)),
                typed,
                Some(err),
                None,
            );
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn publish(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let t = service::publish(&app, &form.current.session.user.team_id, &form.id).await?;
    Ok(done(&format!("{LIST}/{}", t.id), "published"))
}

async fn duplicate(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let t = service::duplicate(&app, &form.current.session.user.team_id, &form.id).await?;
    Ok(done(&format!("{LIST}/{}", t.id), "duplicated"))
}

async fn confirm_delete(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let t = service::get(&app, &session.user.team_id, &current.id).await?;
    let confirm = Confirm::delete(
        ("Templates", LIST),
        &t.id,
        ("template", &t.name),
        "Sends that name this template fail from now on. Emails already sent with it keep \
         their content. This cannot be undone.",
    );
    Ok(ConfirmPage::response(
        Shell::in_section(session, SECTION),
        confirm,
    ))
}

async fn delete(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    service::delete(&app, &form.current.session.user.team_id, &form.id).await?;
    Ok(done(LIST, "deleted"))
}

/// Sample values for the preview: declared fallbacks, else the key in brackets.
struct Sample<'a>(&'a [Variable]);

impl Values for Sample<'_> {
    fn value(&self, _key: &str) -> Option<Cow<'_, str>> {
        None
    }
    fn fallback(&self, key: &str) -> Option<Cow<'_, str>> {
        let declared = self.0.iter().find(|v| v.key == key);
        Some(match declared.and_then(|v| v.fallback_value.as_ref()) {
            Some(value) => substitute::display(value),
            None => Cow::Owned(format!("[{key}]")),
        })
    }
}

/// The current version's HTML with sample values, for the frame on the template's page.
async fn preview(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let template = service::get(&app, &current.session.user.team_id, &current.id).await?;
    let content = &template.content;
    let html = substitute::render(&content.html, Target::Html, &Sample(&content.variables))
        .unwrap_or_else(|_| content.html.clone());
    Ok(sandboxed_preview(html))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn variable_lines_round_trip() {
        let inputs = parse_variables(
            "NAME string Ann Lee\n\n  N number 2.5\nO object {\"a\":1}\nB boolean yes\nX",
        );
        let got: Vec<_> = inputs
            .iter()
            .map(|v| {
                (
                    v.key.as_deref(),
                    v.kind.as_deref(),
                    v.fallback_value.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("NAME"), Some("string"), Some(json!("Ann Lee"))),
                (Some("N"), Some("number"), Some(json!(2.5))),
                (Some("O"), Some("object"), Some(json!({"a": 1}))),
                (Some("B"), Some("boolean"), Some(json!("yes"))),
                (Some("X"), None, None),
            ]
        );
        let declared = crate::templates::variables::declare(&inputs[..3], &[], 0).unwrap();
        let lines: Vec<String> = declared.iter().map(variable_line).collect();
        assert_eq!(
            lines,
            ["NAME string Ann Lee", "N number 2.5", "O object {\"a\":1}"]
        );
    }
}
