//! The Domains pages: the list, "Add domain", a domain's page (DNS records to publish,
//! "Verify DNS records", tracking switches, the DMARC/BIMI panel) and delete with a
//! confirmation step. Every change goes through `crate::domains`, the service the REST API
//! uses; this module turns forms into service calls and results into pages.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::crud::{Confirm, Notice, admin_delete, done};
use super::csrf::FormFields;
use super::domain_views::{AuthPanel, DomainRow, REGIONS, RecordRow, setup_warnings, status_help};
use super::format;
use super::pages::{PageError, PageResult, Shell, refusal, render};
use super::session::{AdminForm, AdminSession, CurrentSession, Item};
use crate::auth::api_keys;
use crate::auth::sessions::Session;
use crate::domains::{self, DomainInput};
use crate::handle::App;
use crate::http::pagination::Page;

const LIST: &str = "/dashboard/domains";
const SECTION: &str = "domains";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route("/dashboard/domains/new", get(new_form))
        .route("/dashboard/domains/{id}", get(detail_page))
        .route("/dashboard/domains/{id}/verify", post(verify))
        .route("/dashboard/domains/{id}/tracking", post(tracking))
        .route(
            "/dashboard/domains/{id}/delete",
            get(confirm_delete).post(admin_delete!(domains::delete, LIST)),
        )
}

fn detail_url(id: &str) -> String {
    format!("{LIST}/{id}")
}

#[derive(Template)]
#[template(path = "domains/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<DomainRow>,
    notice: Option<&'static str>,
    /// This installation's mail settings that make the records unusable (see
    /// [`setup_warnings`]).
    warnings: Vec<String>,
}

#[derive(Template)]
#[template(path = "domains/form.html")]
struct FormPage {
    shell: Shell,
    name: String,
    region: String,
    custom_return_path: String,
    regions: &'static [(&'static str, &'static str)],
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "domains/detail.html")]
struct DetailPage {
    shell: Shell,
    domain: DomainRow,
    help: &'static str,
    /// Herald is still looking for the records: the page refreshes them.
    live: bool,
    return_path: String,
    checked: Option<String>,
    records: Vec<RecordRow>,
    open_tracking: bool,
    click_tracking: bool,
    auth: Option<AuthPanel>,
    notice: Option<&'static str>,
    warnings: Vec<String>,
}

#[derive(Template)]
#[template(path = "domains/delete.html")]
struct DeletePage {
    shell: Shell,
    confirm: Confirm,
    row: DomainRow,
    /// Sending keys restricted to this domain: the service deletes them with it.
    restricted_keys: Vec<String>,
}

async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let session = &current.session;
    let notice = notice.message(&[("deleted", "Domain deleted.")]);
    let everything = Page::everything();
    let found = domains::list(&app, &session.user.team_id, &everything).await?;
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        rows: found.data.iter().map(DomainRow::new).collect(),
        notice,
        warnings: setup_warnings(app.settings()),
    };
    Ok(render(StatusCode::OK, &page))
}

fn form_page(
    session: &Session,
    status: StatusCode,
    fields: &FormFields,
    error: Option<String>,
) -> Response {
    let region = fields.get("region").unwrap_or(REGIONS[0].0);
    let page = FormPage {
        shell: Shell::in_section(session, SECTION),
        name: fields.text("name").to_string(),
        region: region.to_string(),
        custom_return_path: fields.text("custom_return_path").to_string(),
        regions: &REGIONS,
        error,
    };
    render(status, &page)
}

async fn new_form(current: AdminSession) -> PageResult {
    Ok(form_page(
        &current.session,
        StatusCode::OK,
        &FormFields::default(),
        None,
    ))
}

/// The form's fields as the service's input; an empty return path means the default.
fn domain_input(fields: &FormFields) -> DomainInput {
    let return_path = fields.text("custom_return_path").trim();
    DomainInput {
        name: Some(fields.text("name").to_string()),
        region: fields.get("region").map(str::to_string),
        custom_return_path: (!return_path.is_empty()).then(|| return_path.to_string()),
        ..DomainInput::default()
    }
}

async fn create(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    match domains::create(&app, &session.user.team_id, domain_input(&form.fields)).await {
        Ok(domain) => Ok(done(&detail_url(&domain.id), "added")),
        Err(err) => {
            let message = refusal(err)?;
            Ok(form_page(
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.fields,
                Some(message),
            ))
        }
    }
}

async fn detail_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    notice: Notice,
) -> PageResult {
    let session = &current.session;
    // Verification has one state on the page, the status note, which updates itself: no
    // notice for `verifying`.
    let notice = notice.message(&[
        ("added", "Domain added."),
        ("tracking", "Tracking settings saved."),
    ]);
    let domain = domains::get(&app, &session.user.team_id, &current.id).await?;
    let records = domains::records(&app, &domain).await?;
    let now = app.now_ms();
    let page = DetailPage {
        shell: Shell::in_section(session, SECTION),
        help: status_help(&domain.status),
        live: domain.status == domains::status::PENDING,
        return_path: domains::records::return_path_host(&domain),
        checked: domain.checked_at.map(|at| format::relative(now, at)),
        records: RecordRow::all(&records),
        open_tracking: domain.open_tracking,
        click_tracking: domain.click_tracking,
        auth: domain
            .auth_report()
            .map(|report| AuthPanel::new(report, domain.checked_at, now)),
        domain: DomainRow::new(&domain),
        notice,
        warnings: setup_warnings(app.settings()),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn verify(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    domains::start_verification(&app, &session.user.team_id, &form.id).await?;
    Ok(done(&detail_url(&form.id), "verifying"))
}

/// A tracking switch: the button pressed sends `open_tracking` or `click_tracking` with the
/// new value.
async fn tracking(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    let flag = |name| form.fields.get(name).map(|v| v == "true");
    let input = DomainInput {
        open_tracking: flag("open_tracking"),
        click_tracking: flag("click_tracking"),
        ..DomainInput::default()
    };
    if input.open_tracking.is_none() && input.click_tracking.is_none() {
        return Err(PageError::BadRequest);
    }
    domains::update(&app, &session.user.team_id, &form.id, input).await?;
    Ok(done(&detail_url(&form.id), "tracking"))
}

async fn confirm_delete(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let team = &session.user.team_id;
    let domain = domains::get(&app, team, &current.id).await?;
    let everything = Page::everything();
    let keys = api_keys::list(&app, team, &everything).await?;
    let page = DeletePage {
        shell: Shell::in_section(session, SECTION),
        confirm: Confirm::delete(("Domains", LIST), &domain.id, ("domain", &domain.name), ""),
        row: DomainRow::new(&domain),
        restricted_keys: keys
            .data
            .into_iter()
            .filter(|k| k.domain_id.as_deref() == Some(domain.id.as_str()))
            .map(|k| k.name)
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}
