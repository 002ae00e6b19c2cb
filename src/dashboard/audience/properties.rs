//! The Properties page: the default and custom contact properties; admins create custom
//! ones (key, type, fallback), change a fallback, or delete one (its values go with it).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::super::csrf::{CsrfForm, FormFields};
use super::super::format;
use super::super::pages::{PageError, Shell, render};
use super::super::session::CurrentSession;
use super::{Confirm, SECTION, Tab, refusal, require_admin, tabs};
use crate::app::App;
use crate::audience::properties::{self, MAX_KEY_LEN, NewProperty, PropertyType};
use crate::auth::sessions::Session;
use crate::error::AppError;

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

#[derive(Deserialize)]
struct Params {
    notice: Option<String>,
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
) -> Result<Response, PageError> {
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

async fn list_page(
    State(app): State<App>,
    current: CurrentSession,
    Query(params): Query<Params>,
) -> Result<Response, PageError> {
    let notice = match params.notice.as_deref() {
        Some("created") => Some("Property created."),
        Some("updated") => Some("Fallback value saved."),
        Some("deleted") => Some("Property deleted."),
        _ => None,
    };
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
        AppError::validation(format!("The fallback value must be a {}.", ty.as_str()))
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

async fn create(State(app): State<App>, form: CsrfForm) -> Result<Response, PageError> {
    let session = &form.current.session;
    require_admin(session)?;
    let result = match new_property(&form.fields) {
        Ok(input) => properties::create(&app, &session.user.team_id, input).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}?notice=created")).into_response()),
        Err(err) => {
            let err = refusal(err)?;
            let f = &form.fields;
            let typed = (f.text("key"), f.text("type"), f.text("fallback_value"));
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

async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let session = &form.current.session;
    require_admin(session)?;
    let team = &session.user.team_id;
    let property = properties::get(&app, team, &id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let result = match typed_fallback(&property.kind, form.fields.text("fallback_value")) {
        Ok(fallback) => properties::update(&app, team, &id, None, Some(fallback)).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}?notice=updated")).into_response()),
        Err(err) => {
            let err = refusal(err)?;
            list_response(
                &app,
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                ("", "string", ""),
                Some(err.message),
                None,
            )
            .await
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
    let property = properties::get(&app, &session.user.team_id, &id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let page = Confirm {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Properties"),
        title: format!("Delete the property “{}”?", property.key),
        message: "Every contact's value for it is removed too. This cannot be undone.".into(),
        action: format!("{LIST}/{id}/delete"),
        back: LIST.into(),
        button: "Delete property".into(),
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
    match properties::delete(&app, &session.user.team_id, &id).await {
        Ok(()) => Ok(Redirect::to(&format!("{LIST}?notice=deleted")).into_response()),
        Err(err) => {
            let err = refusal(err)?;
            list_response(
                &app,
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                ("", "string", ""),
                Some(err.message),
                None,
            )
            .await
        }
    }
}
