//! The Topics page: what contacts can opt in to or out of; admins create topics (the
//! default subscription is fixed then), edit name, description and visibility, and delete.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::super::csrf::{CsrfForm, FormFields};
use super::super::format;
use super::super::pages::{PageError, Shell, render};
use super::super::session::CurrentSession;
use super::{Confirm, SECTION, Tab, refusal, require_admin, tabs};
use crate::app::App;
use crate::audience::topics::{self, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, Topic, TopicInput};
use crate::auth::sessions::Session;

const LIST: &str = "/dashboard/audience/topics";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route(
            "/dashboard/audience/topics/{id}/edit",
            get(edit_form).post(update),
        )
        .route(
            "/dashboard/audience/topics/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

pub struct TopicRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub opt_in: bool,
    pub public: bool,
    pub created: String,
}

impl From<Topic> for TopicRow {
    fn from(t: Topic) -> Self {
        Self {
            opt_in: t.default_subscription == topics::OPT_IN,
            public: t.visibility == "public",
            created: format::date(t.created_at),
            id: t.id,
            name: t.name,
            description: t.description.unwrap_or_default(),
        }
    }
}

/// The create or edit form's values.
pub struct TopicForm {
    pub name: String,
    pub description: String,
    pub opt_in: bool,
    pub public: bool,
}

impl TopicForm {
    fn empty() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            opt_in: true,
            public: false,
        }
    }
    fn of(fields: &FormFields) -> Self {
        Self {
            name: fields.text("name").to_string(),
            description: fields.text("description").to_string(),
            opt_in: fields.text("default_subscription") != topics::OPT_OUT,
            public: fields.text("visibility") == "public",
        }
    }
    fn input(&self, with_default: bool) -> TopicInput {
        TopicInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            default_subscription: with_default.then(|| {
                if self.opt_in {
                    topics::OPT_IN
                } else {
                    topics::OPT_OUT
                }
                .to_string()
            }),
            visibility: Some(if self.public { "public" } else { "private" }.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "audience/topics.html")]
struct ListPage {
    shell: Shell,
    tabs: Vec<Tab>,
    rows: Vec<TopicRow>,
    form: TopicForm,
    max_name_len: usize,
    max_description_len: usize,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "audience/topic_edit.html")]
struct EditPage {
    shell: Shell,
    tabs: Vec<Tab>,
    id: String,
    form: TopicForm,
    max_name_len: usize,
    max_description_len: usize,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Params {
    notice: Option<String>,
}

async fn list_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    form: TopicForm,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let rows = topics::all(app, &session.user.team_id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Topics"),
        rows,
        form,
        max_name_len: MAX_NAME_LEN,
        max_description_len: MAX_DESCRIPTION_LEN,
        error,
        notice,
    };
    Ok(render(status, &page))
}

async fn list_page(
    State(app): State<App>,
    current: CurrentSession,
    Query(params): Query<Params>,
) -> Result<Response, PageError> {
    let notice = match params.notice.as_deref() {
        Some("created") => Some("Topic created."),
        Some("updated") => Some("Topic saved."),
        Some("deleted") => Some("Topic deleted."),
        _ => None,
    };
    list_response(
        &app,
        &current.session,
        StatusCode::OK,
        TopicForm::empty(),
        None,
        notice,
    )
    .await
}

async fn create(State(app): State<App>, form: CsrfForm) -> Result<Response, PageError> {
    let session = &form.current.session;
    require_admin(session)?;
    let typed = TopicForm::of(&form.fields);
    match topics::create(&app, &session.user.team_id, typed.input(true)).await {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}?notice=created")).into_response()),
        Err(err) => {
            let err = refusal(err)?;
            list_response(
                &app,
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                Some(err.message),
                None,
            )
            .await
        }
    }
}

async fn edit_form(
    State(app): State<App>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = &current.session;
    require_admin(session)?;
    let topic = topics::find(&app, &session.user.team_id, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    let row = TopicRow::from(topic);
    let page = EditPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Topics"),
        id: row.id,
        form: TopicForm {
            name: row.name,
            description: row.description,
            opt_in: row.opt_in,
            public: row.public,
        },
        max_name_len: MAX_NAME_LEN,
        max_description_len: MAX_DESCRIPTION_LEN,
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let session = &form.current.session;
    require_admin(session)?;
    let team = &session.user.team_id;
    let topic = topics::find(&app, team, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    let mut typed = TopicForm::of(&form.fields);
    typed.opt_in = topic.default_subscription == topics::OPT_IN;
    match topics::update(&app, team, &id, typed.input(false)).await {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}?notice=updated")).into_response()),
        Err(err) => {
            let err = refusal(err)?;
            let page = EditPage {
                shell: Shell::in_section(session, SECTION),
                tabs: tabs("Topics"),
                id,
                form: typed,
                max_name_len: MAX_NAME_LEN,
                max_description_len: MAX_DESCRIPTION_LEN,
                error: Some(err.message),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn confirm_delete(
    State(app): State<App>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = &current.session;
    require_admin(session)?;
    let topic = topics::find(&app, &session.user.team_id, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    let page = Confirm {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Topics"),
        title: format!("Delete the topic “{}”?", topic.name),
        message: "Contacts' choices for this topic are removed too.".into(),
        action: format!("{LIST}/{id}/delete"),
        back: LIST.into(),
        button: "Delete topic".into(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn delete(
    State(app): State<App>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let session = &form.current.session;
    require_admin(session)?;
    topics::delete(&app, &session.user.team_id, &id)
        .await
        .map_err(|_| PageError::NotFound)?;
    Ok(Redirect::to(&format!("{LIST}?notice=deleted")).into_response())
}
