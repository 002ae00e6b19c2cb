//! The Properties page: the default and custom contact properties; admins create custom
//! ones (key, type, fallback), change a fallback, or delete one (its values go with it).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::Value;

use super::super::csrf::FormFields;
use super::super::format;
use super::super::pages::{PageError, PageResult, Shell, placed, render};
use super::super::session::{AdminForm, AdminSession, CurrentSession, Item};
use super::{AudienceConfirm, Notice, SECTION, Tab, after_change, tabs};
use crate::audience::properties::{self, MAX_KEY_LEN, NewProperty, PropertyType};
use crate::auth::sessions::Session;
use crate::error::AppError;
use crate::handle::App;

const LIST: &str = "/dashboard/audience/properties";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route("/dashboard/audience/properties/{id}", post(update))
        .route(
            "/dashboard/audience/properties/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

pub struct PropertyRow {
    pub id: String,
    pub key: String,
    pub kind: String,
    pub fallback: String,
    pub is_default: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "audience/properties.html")]
struct ListPage {
    shell: Shell,
    tabs: Vec<Tab>,
    rows: Vec<PropertyRow>,
    key: String,
    kind: String,
    fallback: String,
    max_key_len: usize,
    error: Option<String>,
    notice: Option<&'static str>,
}

fn fallback_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn list_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    typed: (&str, &str, &str),
    error: Option<String>,
    notice: Option<&'static str>,
) -> PageResult {
    let rows = properties::all(app, &session.user.team_id)
        .await?
        .into_iter()
        .map(|p| PropertyRow {
            fallback: fallback_text(&p.fallback()),
            is_default: p.is_default(),
            created: format::date(p.created_at),
            id: p.id,
            key: p.key,
            kind: p.kind,
        })
        .collect();
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Properties"),
        rows,
        key: typed.0.to_string(),
        kind: typed.1.to_string(),
        fallback: typed.2.to_string(),
        max_key_len: MAX_KEY_LEN,
        error,
        notice,
    };
    Ok(render(status, &page))
}

async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let notice = notice.message(&[
        ("created", "Property created."),
        ("updated", "Fallback value saved."),
        ("deleted", "Property deleted."),
    ]);
    list_response(
        &app,
        &current.session,
        StatusCode::OK,
        ("", "string", ""),
        None,
        notice,
    )
    .await
}

/// A typed fallback from a form field; empty means none.
fn typed_fallback(kind: &str, raw: &str) -> Result<Value, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    let ty = PropertyType::parse(kind)?;
    ty.from_text(raw).ok_or_else(|| {
        AppError::validation(format!(
            "The `fallback_value` field must be a {}.",
            ty.as_str()
        ))
    })
}

fn new_property(fields: &FormFields) -> Result<NewProperty, AppError> {
    let kind = fields.text("type");
    Ok(NewProperty {
        key: Some(fields.text("key").trim().to_string()),
        kind: Some(kind.to_string()),
        fallback_value: Some(typed_fallback(kind, fields.text("fallback_value"))?),
    })
}

async fn create(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let result = match new_property(&form.fields) {
        Ok(input) => properties::create(&app, &session.user.team_id, input)
            .await
            .map_err(AppError::from),
        Err(err) => Err(err),
    };
    let f = &form.fields;
    let typed = (f.text("key"), f.text("type"), f.text("fallback_value"));
    after_change(result, LIST, "created", |error| {
        let words = [("key", "key"), ("property", "key")];
        let error = placed(error, "key,type,fallback_value", &words);
        refused(&app, session, typed, error)
    })
    .await
}

/// The list again, with what was typed and why it was refused.
async fn refused(
    app: &App,
    session: &Session,
    typed: (&str, &str, &str),
    error: String,
) -> PageResult {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    list_response(app, session, status, typed, Some(error), None).await
}

async fn update(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    let team = &session.user.team_id;
    let property = properties::get(&app, team, &form.id)
        .await
        .map_err(|_| PageError::NotFound)?;
    // The row's own small form: a refusal shows at the top of the page, naming the key.
    let result = match typed_fallback(&property.kind, form.fields.text("fallback_value")) {
        Ok(fallback) => properties::update(&app, team, &form.id, None, Some(fallback))
            .await
            .map_err(AppError::from),
        Err(_) => Err(AppError::validation(format!(
            "The fallback value of {} must be a {}.",
            property.key, property.kind
        ))),
    };
    after_change(result, LIST, "updated", |error| {
        refused(&app, session, ("", "string", ""), error)
    })
    .await
}

async fn confirm_delete(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let property = properties::get(&app, &session.user.team_id, &current.id)
        .await
        .map_err(|_| PageError::NotFound)?;
    Ok(AudienceConfirm::delete_page(
        session,
        ("Properties", LIST),
        &current.id,
        ("property", &property.key),
        "Every contact's value for it is removed too. This cannot be undone.",
    ))
}

async fn delete(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    let result = properties::delete(&app, &session.user.team_id, &form.id).await;
    after_change(result, LIST, "deleted", |error| {
        refused(&app, session, ("", "string", ""), error)
    })
    .await
}
