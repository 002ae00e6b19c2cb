//! One contact: its page (properties, segments, topic subscriptions, history), the edit
//! form (every field but the email address), segment and topic changes, and deletion.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::crud::{Confirm, done};
use super::super::csrf::{CsrfForm, FormFields};
use super::super::format;
use super::super::pages::{PageError, PageResult, Shell, about, error_field, render};
use super::super::session::{CurrentSession, Item};
use super::{AudienceConfirm, CONTACTS, SECTION, Tab, refusal, tabs};
use crate::audience::contacts::{self, Contact, ContactInput};
use crate::audience::history::{self, HistoryEntry};
use crate::audience::properties::{self, ContactProperty, PropertyType};
use crate::audience::segments::{self, Segment};
use crate::audience::topics::{self, Choice};
use crate::broadcasts::activity;
use crate::error::AppError;
use crate::handle::App;
use crate::http::pagination::Page;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/dashboard/audience/contacts/{id}", get(show))
        .route(
            "/dashboard/audience/contacts/{id}/edit",
            get(edit_form).post(save),
        )
        .route(
            "/dashboard/audience/contacts/{id}/segments",
            post(add_segment),
        )
        .route(
            "/dashboard/audience/contacts/{id}/segments/{segment}/remove",
            post(remove_segment),
        )
        .route("/dashboard/audience/contacts/{id}/topics", post(set_topic))
        .route(
            "/dashboard/audience/contacts/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

fn contact_href(id: &str) -> String {
    format!("{CONTACTS}/{id}")
}

/// A custom property with this contact's value (or the fallback that applies).
pub struct PropertyLine {
    pub key: String,
    /// The edit form's input: `p:<key>`.
    pub input: String,
    pub kind: String,
    pub value: String,
    pub is_set: bool,
    pub fallback: String,
}

pub struct TopicLine {
    pub id: String,
    pub name: String,
    pub description: String,
    pub opted_in: bool,
    pub is_default: bool,
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn property_lines(contact: &Contact, defs: &[ContactProperty]) -> Vec<PropertyLine> {
    let values = contact.properties_map();
    defs.iter()
        .filter(|p| !p.is_default())
        .map(|p| {
            let value = values.get(&p.key).cloned().unwrap_or(Value::Null);
            PropertyLine {
                input: format!("p:{}", p.key),
                key: p.key.clone(),
                kind: p.kind.clone(),
                is_set: !value.is_null(),
                value: text_of(&value),
                fallback: text_of(&p.fallback()),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "audience/contact.html")]
struct ContactPage {
    shell: Shell,
    tabs: Vec<Tab>,
    contact: Contact,
    status_label: &'static str,
    unsubscribed: bool,
    created: String,
    properties: Vec<PropertyLine>,
    member_of: Vec<Segment>,
    other_segments: Vec<Segment>,
    topics: Vec<TopicLine>,
    history: Vec<(HistoryEntry, String, String)>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "audience/contact_edit.html")]
struct EditPage {
    shell: Shell,
    tabs: Vec<Tab>,
    contact: Contact,
    first_name: String,
    last_name: String,
    unsubscribed: bool,
    properties: Vec<PropertyLine>,
    error: Option<String>,
}

impl EditPage {
    /// The form's inputs, as `m::form_error` lists them.
    fn fields(&self) -> String {
        let mut fields = vec!["first_name".to_string(), "last_name".to_string()];
        fields.extend(self.properties.iter().map(|p| p.input.clone()));
        fields.join(",")
    }
}

#[derive(Deserialize)]
struct ShowParams {
    notice: Option<String>,
}

async fn show(
    State(app): State<App>,
    current: Item<CurrentSession>,
    Query(params): Query<ShowParams>,
) -> PageResult {
    let session = &current.session;
    let team = &session.user.team_id;
    let contact = contacts::find(&app, team, &current.id)
        .await
        .map_err(|_| PageError::NotFound)?
        .ok_or(PageError::NotFound)?;
    let defs = properties::all(&app, team).await?;
    let in_ids = segments::ids_of_contact(&app, &contact.id).await?;
    let (member_of, other_segments): (Vec<Segment>, Vec<Segment>) =
        segments::all_with_counts(&app, team)
            .await?
            .into_iter()
            .partition(|s| in_ids.contains(&s.id));
    let everything = Page::everything();
    let topics = topics::of_contact(&app, team, &contact.id, &everything)
        .await?
        .data
        .into_iter()
        .map(|t| TopicLine {
            opted_in: t.subscription == topics::OPT_IN,
            is_default: t.subscription == t.default_subscription,
            id: t.id,
            name: t.name,
            description: t.description.unwrap_or_default(),
        })
        .collect();
    let now = app.now_ms();
    let mut entries = history::recent(&app, &contact.id, contact.created_at).await?;
    entries.extend(activity::for_contact(&app, &session.user.team_id, &contact.id).await?);
    entries.sort_by_key(|e| std::cmp::Reverse(e.created_ms));
    entries.truncate(history::SHOWN as usize);
    let history = entries
        .into_iter()
        .map(|e| {
            let when = format::relative(now, e.created_ms);
            let exact = format::exact(e.created_ms);
            (e, when, exact)
        })
        .collect();
    let notice = match params.notice.as_deref() {
        Some("saved") => Some("Contact saved."),
        Some("segment-added") => Some("Added to the segment."),
        Some("segment-removed") => Some("Removed from the segment."),
        Some("topic") => Some("Topic subscription saved."),
        _ => None,
    };
    let page = ContactPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Contacts"),
        status_label: contact.status().label(),
        unsubscribed: contact.unsubscribed,
        created: format::exact(contact.created_at),
        properties: property_lines(&contact, &defs),
        member_of,
        other_segments,
        topics,
        history,
        notice,
        contact,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn contact_of(app: &App, team: &str, id: &str) -> Result<Contact, PageError> {
    contacts::find(app, team, id)
        .await
        .map_err(|_| PageError::NotFound)?
        .ok_or(PageError::NotFound)
}

async fn edit_form(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let contact = contact_of(&app, &session.user.team_id, &current.id).await?;
    let defs = properties::all(&app, &session.user.team_id).await?;
    let page = EditPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Contacts"),
        first_name: contact.first_name.clone().unwrap_or_default(),
        last_name: contact.last_name.clone().unwrap_or_default(),
        unsubscribed: contact.unsubscribed,
        properties: property_lines(&contact, &defs),
        contact,
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The edit form as the service's input: an empty property field removes the value, a
/// number field must hold a number.
fn edit_input(fields: &FormFields, defs: &[ContactProperty]) -> Result<ContactInput, AppError> {
    let mut values = Map::new();
    for def in defs.iter().filter(|p| !p.is_default()) {
        let Some(raw) = fields.get(&format!("p:{}", def.key)) else {
            continue;
        };
        let raw = raw.trim();
        let value = if raw.is_empty() {
            Value::Null
        } else {
            let ty = PropertyType::parse(&def.kind)?;
            ty.from_text(raw).ok_or_else(|| {
                let message = format!("Must be a {}.", ty.as_str());
                AppError::validation(about(&format!("p:{}", def.key), &message))
            })?
        };
        values.insert(def.key.clone(), value);
    }
    let name = |field: &str| Some(Some(fields.text(field).to_string()));
    Ok(ContactInput {
        first_name: name("first_name"),
        last_name: name("last_name"),
        unsubscribed: Some(fields.get("unsubscribed").is_some()),
        properties: Some(values),
        ..ContactInput::default()
    })
}

async fn save(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let contact = contact_of(&app, team, &form.id).await?;
    let defs = properties::all(&app, team).await?;
    let result = match edit_input(&form.fields, &defs) {
        Ok(input) => contacts::update(&app, team, &contact.id, input)
            .await
            .map_err(AppError::from),
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("{}?notice=saved", contact_href(&contact.id))).into_response(),
        ),
        Err(err) => {
            // The service names a property by its key: its input is `p:<key>`.
            let err = refusal(err)?;
            let field = error_field(&err);
            let err = if defs.iter().any(|d| d.key == field && !d.is_default()) {
                about(&format!("p:{field}"), &err)
            } else {
                err
            };
            // Show what was typed, with the reason.
            let mut properties = property_lines(&contact, &defs);
            for line in &mut properties {
                line.value = form.fields.text(&format!("p:{}", line.key)).to_string();
            }
            let page = EditPage {
                shell: Shell::in_section(session, SECTION),
                tabs: tabs("Contacts"),
                first_name: form.fields.text("first_name").to_string(),
                last_name: form.fields.text("last_name").to_string(),
                unsubscribed: form.fields.get("unsubscribed").is_some(),
                properties,
                contact,
                error: Some(err),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn add_segment(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let team = &form.current.session.user.team_id;
    let contact = contact_of(&app, team, &form.id).await?;
    let segment = segments::find(&app, team, form.fields.text("segment_id"))
        .await?
        .ok_or(PageError::BadRequest)?;
    segments::add_contact(&app, team, &contact, &segment).await?;
    Ok(done(&contact_href(&contact.id), "segment-added"))
}

async fn remove_segment(
    State(app): State<App>,
    Path((id, segment)): Path<(String, String)>,
    form: CsrfForm,
) -> PageResult {
    let team = &form.current.session.user.team_id;
    let contact = contact_of(&app, team, &id).await?;
    let segment = segments::find(&app, team, &segment)
        .await?
        .ok_or(PageError::NotFound)?;
    segments::remove_contact(&app, team, &contact, &segment).await?;
    Ok(done(&contact_href(&contact.id), "segment-removed"))
}

async fn set_topic(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let team = &form.current.session.user.team_id;
    let contact = contact_of(&app, team, &form.id).await?;
    let choice = Choice {
        id: Some(form.fields.text("topic_id").to_string()),
        subscription: Some(form.fields.text("subscription").to_string()),
    };
    topics::set_for_contact(&app, team, &contact.id, &[choice])
        .await
        .map_err(|e| {
            let e = AppError::from(e);
            if e.status < 500 {
                PageError::BadRequest
            } else {
                e.into()
            }
        })?;
    Ok(done(&contact_href(&contact.id), "topic"))
}

async fn confirm_delete(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let contact = contact_of(&app, &session.user.team_id, &current.id).await?;
    let message = "Its properties, segment memberships, topic choices and history are deleted \
                   too. This cannot be undone.";
    let mut confirm = Confirm::delete(
        ("Contacts", CONTACTS),
        &contact.id,
        ("contact", ""),
        message,
    );
    confirm.title = format!("Delete {}", contact.email);
    confirm.heading = format!("Delete {}?", contact.email);
    Ok(AudienceConfirm::page(session, "Contacts", confirm))
}

async fn delete(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let team = &form.current.session.user.team_id;
    let contact = contact_of(&app, team, &form.id).await?;
    contacts::delete(&app, team, &contact.id).await?;
    Ok(done(CONTACTS, "contact-deleted"))
}
