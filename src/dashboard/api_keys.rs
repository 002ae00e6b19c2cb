//! The API Keys page: list, create (token shown once), edit, delete with confirmation.
//! Every change goes through `auth::api_keys`, the same service the REST API uses; this
//! module only turns forms into service calls and results into pages.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::crud::{Confirm, Notice, admin_delete, done};
use super::csrf::FormFields;
use super::format::{self, Activity};
use super::pages::{PageError, PageResult, Shell, refusal, render};
use super::session::{AdminForm, AdminSession, CurrentSession, Item};
use crate::auth::api_keys::{self, ApiKey, KeyInput, MAX_NAME_LEN, Permission};
use crate::auth::sessions::Session;
use crate::domains::{self, DomainName};
use crate::error::AppError;
use crate::handle::App;
use crate::http::pagination::Page;

const LIST: &str = "/dashboard/api-keys";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route("/dashboard/api-keys/new", get(new_form))
        .route("/dashboard/api-keys/{id}", axum::routing::post(update))
        .route("/dashboard/api-keys/{id}/edit", get(edit_form))
        .route(
            "/dashboard/api-keys/{id}/delete",
            get(confirm_delete).post(admin_delete!(api_keys::delete, LIST)),
        )
}

/// One line of the keys table, ready to print.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub token_prefix: String,
    pub permission: &'static str,
    pub domain: String,
    pub created_date: String,
    pub created_exact: String,
    pub last_used: String,
    pub last_used_exact: String,
    pub activity: Activity,
    pub inactive: bool,
    pub request_count: i64,
}

fn permission_label(permission: &str) -> &'static str {
    match Permission::parse(permission) {
        Ok(Permission::SendingAccess) => "Sending access",
        _ => "Full access",
    }
}

impl KeyRow {
    fn new(key: &ApiKey, domains: &[DomainName], now: i64) -> Self {
        let domain = match &key.domain_id {
            None => "All domains".to_string(),
            Some(id) => domains
                .iter()
                .find(|d| &d.id == id)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| "Unknown domain".to_string()),
        };
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            token_prefix: key.token_prefix.clone(),
            permission: permission_label(&key.permission),
            domain,
            created_date: format::date(key.created_at),
            created_exact: format::exact(key.created_at),
            last_used: key
                .last_used_at
                .map_or_else(|| "Never".to_string(), |at| format::relative(now, at)),
            last_used_exact: key.last_used_at.map(format::exact).unwrap_or_default(),
            activity: Activity::of(now, key.last_used_at),
            inactive: format::is_inactive(now, key.created_at, key.last_used_at),
            request_count: key.request_count,
        }
    }
}

/// The key just created, shown once on the page the create form answers with.
pub struct NewKey {
    pub name: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "api_keys/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<KeyRow>,
    inactive: usize,
    created: Option<NewKey>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "api_keys/form.html")]
struct FormPage {
    shell: Shell,
    /// `None` when creating.
    key_id: Option<String>,
    name: String,
    sending: bool,
    domain_id: String,
    domains: Vec<DomainName>,
    error: Option<String>,
    max_name_len: usize,
}

#[derive(Template)]
#[template(path = "api_keys/delete.html")]
struct DeletePage {
    shell: Shell,
    confirm: Confirm,
    row: KeyRow,
}

async fn list_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    created: Option<NewKey>,
    notice: Option<&'static str>,
) -> PageResult {
    let team = &session.user.team_id;
    let everything = Page::everything();
    let keys = api_keys::list(app, team, &everything).await?;
    let domains = domains::names_for_team(app, team).await?;
    let now = app.now_ms();
    let rows: Vec<KeyRow> = keys
        .data
        .iter()
        .map(|k| KeyRow::new(k, &domains, now))
        .collect();
    let page = ListPage {
        shell: Shell::of(session),
        inactive: rows.iter().filter(|r| r.inactive).count(),
        rows,
        created,
        notice,
    };
    Ok(render(status, &page))
}

async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let notice = notice.message(&[
        ("updated", "API key updated."),
        ("deleted", "API key deleted."),
    ]);
    list_response(&app, &current.session, StatusCode::OK, None, notice).await
}

/// The form's fields as the service's input. Only sending keys carry a domain.
fn key_input(fields: &FormFields) -> KeyInput {
    let permission = fields.get("permission").unwrap_or("full_access");
    let domain = fields
        .get("domain_id")
        .filter(|d| !d.is_empty() && permission == "sending_access");
    KeyInput {
        name: Some(fields.text("name").to_string()),
        permission: Some(permission.to_string()),
        domain_id: Some(domain.map(str::to_string)),
    }
}

async fn form_page(
    app: &App,
    session: &Session,
    status: StatusCode,
    key_id: Option<String>,
    input: &KeyInput,
    error: Option<String>,
) -> PageResult {
    let page = FormPage {
        shell: Shell::of(session),
        key_id,
        name: input.name.clone().unwrap_or_default(),
        sending: input.permission.as_deref() == Some("sending_access"),
        domain_id: input.domain_id.clone().flatten().unwrap_or_default(),
        domains: domains::names_for_team(app, &session.user.team_id).await?,
        error,
        max_name_len: MAX_NAME_LEN,
    };
    Ok(render(status, &page))
}

/// A service refusal shown in the form; anything else is an error page. The key itself is
/// looked up before, so a 404 here is the form's domain, which the form shows.
fn form_error(err: impl Into<AppError>) -> Result<String, PageError> {
    let err = err.into();
    if err.is_not_found() {
        return Ok(err.message);
    }
    refusal(err)
}

async fn new_form(State(app): State<App>, current: AdminSession) -> PageResult {
    let input = KeyInput::default();
    form_page(&app, &current.session, StatusCode::OK, None, &input, None).await
}

async fn create(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let input = key_input(&form.fields);
    match api_keys::create(&app, &session.user.team_id, input.clone()).await {
        Ok((key, token)) => {
            let created = NewKey {
                name: key.name,
                token,
            };
            list_response(&app, session, StatusCode::OK, Some(created), None).await
        }
        Err(err) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            form_page(&app, session, status, None, &input, Some(form_error(err)?)).await
        }
    }
}

async fn edit_form(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let key = api_keys::get(&app, &session.user.team_id, &current.id).await?;
    let input = KeyInput {
        name: Some(key.name),
        permission: Some(key.permission),
        domain_id: Some(key.domain_id),
    };
    form_page(&app, session, StatusCode::OK, Some(key.id), &input, None).await
}

async fn update(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    // An unknown key is a 404 page; any other refusal is shown in the form.
    api_keys::get(&app, &session.user.team_id, &form.id).await?;
    let input = key_input(&form.fields);
    match api_keys::update(&app, &session.user.team_id, &form.id, input.clone()).await {
        Ok(_) => Ok(done(LIST, "updated")),
        Err(err) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            form_page(
                &app,
                session,
                status,
                Some(form.id.clone()),
                &input,
                Some(form_error(err)?),
            )
            .await
        }
    }
}

async fn confirm_delete(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let team = &session.user.team_id;
    let key = api_keys::get(&app, team, &current.id).await?;
    let domains = domains::names_for_team(&app, team).await?;
    let page = DeletePage {
        shell: Shell::of(session),
        confirm: Confirm::delete(("API Keys", LIST), &key.id, ("API key", &key.name), "")
            .back_to_list(),
        row: KeyRow::new(&key, &domains, app.now_ms()),
    };
    Ok(render(StatusCode::OK, &page))
}
