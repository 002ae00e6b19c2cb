//! The broadcasts service. Every write validates all of its input first, then commits in
//! one transaction, so a refused request stores nothing.

use serde_json::{Map, Value, json};

use super::content::{self, Properties};
use super::error::{BroadcastError, BroadcastResult};
use super::{Broadcast, Status, fanout, store};
use crate::audience::{properties, segments, topics};
use crate::emails::address::Mailbox;
use crate::emails::request::Loose;
use crate::handle::App;
use crate::queue;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Stmt};

/// Longest subject, as for emails.
const MAX_NAME_CHARS: usize = 255;

/// What a create or update may carry. `None` leaves a field alone (create: absent);
/// `Some(None)` clears an optional one.
#[derive(Debug, Default, Clone)]
pub struct BroadcastInput {
    pub name: Option<Option<String>>,
    /// `segment_id`, or the deprecated `audience_id` (same ids).
    pub segment_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// A string or an array of strings; `null` clears.
    pub reply_to: Option<Value>,
    pub preview_text: Option<Option<String>>,
    pub html: Option<Option<String>>,
    pub text: Option<Option<String>>,
    pub topic_id: Option<Option<String>>,
}

/// List filters (the dashboard's status filter; the API lists everything).
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub status: Option<Status>,
}

/// The list's filters as a query string gives them (the dashboard's list, an export).
#[derive(Debug, Default, serde::Deserialize)]
pub struct FilterParams {
    pub status: Option<String>,
}

/// The filters as [`list`] takes them (an unknown status is no filter).
pub fn read_filter(params: &FilterParams) -> ListFilter {
    let status_text = params.status.as_deref().filter(|s| !s.is_empty());
    ListFilter {
        status: status_text.and_then(Status::parse),
    }
}

/// When to send: now, or at a time written in ISO 8601 or in words ("in 1 hour"), as the
/// emails' `scheduled_at` (at most 30 days ahead, not in the past).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    Now,
    At(String),
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// `id`, trimmed, if it is a UUID and `found` says the team has it; else a 422 saying that
/// the `what` named by `field` does not exist.
async fn existing(
    id: String,
    (what, field): (&str, &str),
    found: impl AsyncFnOnce(&str) -> BroadcastResult<bool>,
) -> BroadcastResult<String> {
    let id = id.trim().to_string();
    if uuid::Uuid::parse_str(&id).is_err() || !found(&id).await? {
        return Err(BroadcastError::Invalid(format!(
            "The {what} `{id}` (`{field}`) does not exist."
        )));
    }
    Ok(id)
}

/// Applies `input` to `b` and checks every field; `creating` makes from, subject and
/// segment required.
async fn apply(
    app: &App,
    b: &mut Broadcast,
    input: BroadcastInput,
    creating: bool,
) -> BroadcastResult<()> {
    if let Some(name) = input.name {
        let name = blank_to_none(name);
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
        {
            return Err(BroadcastError::Invalid(format!(
                "The `name` field must be at most {MAX_NAME_CHARS} characters."
            )));
        }
        b.name = name;
    }
    match blank_to_none(input.from) {
        Some(from) => {
            let mailbox = crate::emails::validate::parse_from(&from)?;
            b.from = mailbox.to_string();
        }
        None if creating => return Err(BroadcastError::Missing("from")),
        None => {}
    }
    match blank_to_none(input.subject) {
        Some(subject) => {
            crate::emails::validate::check_subject(&subject)?;
            b.subject = subject;
        }
        None if creating => return Err(BroadcastError::Missing("subject")),
        None => {}
    }
    match blank_to_none(input.segment_id) {
        Some(id) => {
            let team = &b.team_id;
            let found = async |id: &str| Ok(segments::find(app, team, id).await?.is_some());
            b.segment_id = Some(existing(id, ("segment", "segment_id"), found).await?);
        }
        None if creating => return Err(BroadcastError::Missing("segment_id")),
        None => {}
    }
    if let Some(topic) = input.topic_id {
        b.topic_id = match blank_to_none(topic) {
            None => None,
            Some(id) => {
                let team = &b.team_id;
                let found = async |id: &str| Ok(topics::find(app, team, id).await?.is_some());
                Some(existing(id, ("topic", "topic_id"), found).await?)
            }
        };
    }
    if let Some(reply_to) = input.reply_to {
        let reply_to = (!reply_to.is_null()).then(|| Loose::from_json(reply_to));
        let list = crate::emails::validate::recipients("reply_to", reply_to)?;
        let list: Vec<String> = list.iter().map(Mailbox::to_string).collect();
        b.reply_to = serde_json::to_string(&list)?;
    }
    if let Some(preview) = input.preview_text {
        let preview = blank_to_none(preview);
        if preview.as_ref().is_some_and(|p| p.contains(['\r', '\n'])) {
            return Err(BroadcastError::Invalid(
                "The `preview_text` field must not contain line breaks.".into(),
            ));
        }
        b.preview_text = preview;
    }
    if let Some(html) = input.html {
        b.html = html;
    }
    if let Some(text) = input.text {
        b.text = text;
    }
    let props = Properties::of(&properties::all(app, &b.team_id).await?);
    content::check_known(&content_fields(b), &props)?;
    Ok(())
}

fn content_fields(b: &Broadcast) -> Vec<(&'static str, &str)> {
    content::fields(
        &b.subject,
        b.preview_text.as_deref(),
        b.html.as_deref(),
        b.text.as_deref(),
    )
}

/// `POST /broadcasts`. With `send`, the broadcast is sent (or scheduled) in the same
/// transaction; nothing is stored when any check fails.
pub async fn create(
    app: &App,
    team_id: &str,
    input: BroadcastInput,
    send: Option<When>,
) -> BroadcastResult<Broadcast> {
    let now = app.now_ms();
    let empty = Broadcast {
        team_id: team_id.to_string(),
        reply_to: "[]".into(),
        ..Broadcast::default()
    };
    let mut b = new_draft(empty, now);
    apply(app, &mut b, input, true).await?;
    let mut stmts = Vec::new();
    let job = match send {
        Some(when) => Some(prepare_send(app, &mut b, when).await?),
        None => None,
    };
    stmts.push(store::insert_stmt(&b));
    stmts.extend(job);
    sql::run(app.db(), &stmts).await?;
    if b.status() == Status::Queued {
        app.notify_jobs();
    }
    Ok(b)
}

/// The team's broadcasts, newest first (keyset pages on `(created_at, id)`).
pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    filter: &ListFilter,
) -> BroadcastResult<ListResponse<Broadcast>> {
    store::list(app, team_id, page, filter.status.map(Status::as_str)).await
}

/// One broadcast with its content; 404 `not_found` for another team's or an unknown id.
pub async fn get(app: &App, team_id: &str, id: &str) -> BroadcastResult<Broadcast> {
    store::get(app, team_id, id).await
}

/// Why a broadcast that is no longer an unscheduled draft cannot be `action`.
fn not_a_draft(b: &Broadcast, action: &str) -> BroadcastError {
    let why = if b.is_scheduled() {
        "it is scheduled; cancel it first".to_string()
    } else {
        format!("it is {}", b.status().as_str())
    };
    BroadcastError::Invalid(format!(
        "Only draft broadcasts can be {action}, and this one cannot: {why}."
    ))
}

/// Changes a draft (not a scheduled one); anything else is a 422 saying why.
pub async fn update(
    app: &App,
    team_id: &str,
    id: &str,
    input: BroadcastInput,
) -> BroadcastResult<Broadcast> {
    let mut b = store::get(app, team_id, id).await?;
    if !b.is_editable() {
        return Err(not_a_draft(&b, "updated"));
    }
    let before = b.updated_at;
    apply(app, &mut b, input, false).await?;
    b.updated_at = app.now_ms().max(before + 1);
    sql::run(app.db(), &[store::update_stmt(&b, before)]).await?;
    Ok(b)
}

/// Deletes a draft (a scheduled one too: its send is dropped); others are a 422.
pub async fn delete(app: &App, team_id: &str, id: &str) -> BroadcastResult<()> {
    let b = store::get(app, team_id, id).await?;
    if b.status() != Status::Draft {
        return Err(not_a_draft(&b, "deleted"));
    }
    let now = app.now_ms();
    let stmts = [
        queue::cancel_by_key(&fanout::job_key(id), now),
        store::delete_draft(team_id, id),
    ];
    sql::run(app.db(), &stmts).await.map_err(|e| {
        if sql::is_conflict(&e) {
            BroadcastError::Invalid(
                "The broadcast started sending meanwhile; it was not deleted.".into(),
            )
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Checks that `b` can be sent and returns the fan-out job to insert with it; sets its
/// status (`queued`, or `draft` with `scheduled_at`).
async fn prepare_send(app: &App, b: &mut Broadcast, when: When) -> BroadcastResult<Stmt> {
    let now = app.now_ms();
    let at = match when {
        When::Now => None,
        When::At(text) if text.trim().is_empty() => None,
        When::At(text) => Some(
            crate::emails::schedule::parse_scheduled_at(&text, now)
                .map_err(BroadcastError::Invalid)?,
        ),
    };
    if b.html.as_deref().is_none_or(|h| h.trim().is_empty())
        && b.text.as_deref().is_none_or(|t| t.trim().is_empty())
    {
        return Err(BroadcastError::NoContent("before sending"));
    }
    let from = sender(b)?;
    if !crate::domains::reads::sends_from(app, &b.team_id, from.domain()).await? {
        return Err(BroadcastError::UnverifiedDomain(format!(
            "The {} domain is not verified (or has sending disabled). Verify it on the \
                 Domains page before sending a broadcast from it.",
            from.domain()
        )));
    }
    let segment_id = b
        .segment_id
        .clone()
        .ok_or(BroadcastError::Missing("segment_id"))?;
    if segments::find(app, &b.team_id, &segment_id)
        .await?
        .is_none()
    {
        return Err(BroadcastError::Invalid(format!(
            "The segment `{segment_id}` no longer exists; choose another segment."
        )));
    }
    if !segments::has_members(app, &segment_id).await? {
        return Err(BroadcastError::Invalid(format!(
            "The segment `{segment_id}` has no contacts; there is nobody to send to."
        )));
    }
    if let Some(topic_id) = &b.topic_id
        && topics::find(app, &b.team_id, topic_id).await?.is_none()
    {
        return Err(BroadcastError::Invalid(format!(
            "The topic `{topic_id}` no longer exists; choose another topic or none."
        )));
    }
    let props = Properties::of(&properties::all(app, &b.team_id).await?);
    content::check_fillable(&content_fields(b), &props)?;

    b.scheduled_at = at;
    b.status = match at {
        Some(_) => Status::Draft,
        None => Status::Queued,
    }
    .as_str()
    .into();
    b.updated_at = now.max(b.updated_at + 1);
    Ok(queue::insert_one(
        &fanout::job(&b.id, at.unwrap_or(now)),
        now,
    ))
}

/// `POST /broadcasts/{id}/send`: checks the sender domain, the segment (exists, not
/// empty), the topic and the placeholders, then queues the fan-out now or at the time.
pub async fn send(app: &App, team_id: &str, id: &str, when: When) -> BroadcastResult<Broadcast> {
    let mut b = store::get(app, team_id, id).await?;
    if !b.is_editable() {
        return Err(not_a_draft(&b, "sent"));
    }
    let before = b.updated_at;
    let job = prepare_send(app, &mut b, when).await?;
    let mark = store::mark_sent_off(&b, before);
    sql::run(app.db(), &[mark, job]).await?;
    if b.status() == Status::Queued {
        app.notify_jobs();
    }
    Ok(b)
}

/// `POST /broadcasts/{id}/cancel`: a scheduled broadcast does not go out; a queued or
/// sending one stops (emails already queued still go). A sent one is a 422.
pub async fn cancel(app: &App, team_id: &str, id: &str) -> BroadcastResult<Broadcast> {
    let mut b = store::get(app, team_id, id).await?;
    let cancelable = b.is_scheduled() || matches!(b.status(), Status::Queued | Status::Sending);
    if !cancelable {
        let why = match b.status() {
            Status::Sent => "it was already sent",
            Status::Canceled => "it is already canceled",
            _ => "it is a draft that is not scheduled",
        };
        return Err(BroadcastError::Invalid(format!(
            "Only scheduled, queued or sending broadcasts can be canceled, and this one cannot: \
             {why}."
        )));
    }
    let now = app.now_ms();
    let stmts = [
        queue::cancel_by_key(&fanout::job_key(id), now),
        store::cancel(team_id, id, now),
    ];
    sql::run(app.db(), &stmts).await?;
    b.status = Status::Canceled.as_str().into();
    b.updated_at = now;
    Ok(b)
}

/// A new draft with the content of `b` (a new id; not scheduled, nothing sent), created
/// `now`.
fn new_draft(b: Broadcast, now: i64) -> Broadcast {
    Broadcast {
        id: new_id(),
        status: Status::Draft.as_str().into(),
        scheduled_at: None,
        sent_at: None,
        recipients: 0,
        created_at: now,
        updated_at: now,
        ..b
    }
}

/// A new draft with the same content, named "… (copy)".
pub async fn duplicate(app: &App, team_id: &str, id: &str) -> BroadcastResult<Broadcast> {
    let original = store::get(app, team_id, id).await?;
    let now = app.now_ms();
    let name = match &original.name {
        Some(name) => format!("{name} (copy)"),
        None => format!("{} (copy)", original.subject),
    };
    let copy = new_draft(
        Broadcast {
            name: Some(name),
            ..original
        },
        now,
    );
    sql::run(app.db(), &[store::insert_stmt(&copy)]).await?;
    Ok(copy)
}

/// Sends the broadcast's content once to `to` (the dashboard's "Test email"), personalised
/// as for the contact with that address if there is one (else with fallbacks), without
/// the custom Reply-To. Returns the email id.
pub async fn send_test(app: &App, team_id: &str, id: &str, to: &str) -> BroadcastResult<String> {
    let b = store::get(app, team_id, id).await?;
    let to = Mailbox::parse(to.trim())
        .map_err(|why| BroadcastError::Invalid(format!("Invalid test address ({why}).")))?;
    if b.html.is_none() && b.text.is_none() {
        return Err(BroadcastError::NoContent("first"));
    }
    let from = sender(&b)?;
    let test_only = crate::emails::test_recipients::outcome(&to.email.to_lowercase()).is_some();
    if !test_only && !crate::domains::reads::sends_from(app, team_id, from.domain()).await? {
        return Err(BroadcastError::UnverifiedDomain(format!(
            "The {} domain is not verified; verify it before sending.",
            from.domain()
        )));
    }
    let contact = crate::audience::contacts::find(app, team_id, &to.email).await?;
    let props = Properties::of(&properties::all(app, team_id).await?);
    let prepared = content::Prepared::of(&b);
    let now = app.now_ms();
    let email_id = new_id();
    let empty = Map::new();
    let (values_map, first, last, contact_id) = match &contact {
        Some(c) => (
            c.properties_map(),
            c.first_name.clone(),
            c.last_name.clone(),
            Some(c.id.clone()),
        ),
        None => (empty, None, None, None),
    };
    let unsubscribe_url = match &contact_id {
        Some(contact_id) => super::unsubscribe::url(
            &app.public_base_url(),
            app.secret_key(),
            &super::unsubscribe::Subscriber {
                team_id: team_id.to_string(),
                contact_id: contact_id.clone(),
                broadcast_id: None,
                topic_id: b.topic_id.clone(),
            },
        ),
        None => format!("{}/u/test", app.public_base_url()),
    };
    let values = content::ContactValues {
        email: &to.email,
        first_name: first.as_deref(),
        last_name: last.as_deref(),
        values: &values_map,
        unsubscribe_url: &unsubscribe_url,
        properties: &props,
    };
    let rendered = prepared.render(&values);
    let body_zstd = crate::emails::body::pack(rendered.html.as_deref(), Some(&rendered.text));
    let email = crate::emails::store::NewEmail {
        message_id: format!("<{email_id}@{}>", from.domain()),
        id: email_id.clone(),
        team_id: team_id.to_string(),
        api_key_id: None,
        from: b.from.clone(),
        to: json!([to.to_string()]).to_string(),
        cc: "[]".into(),
        bcc: "[]".into(),
        reply_to: "[]".into(),
        subject: rendered.subject,
        html: rendered.html,
        text: Some(rendered.text),
        body_zstd,
        headers: "[]".into(),
        tags: "[]".into(),
        topic_id: b.topic_id.clone(),
        template_id: None,
        scheduled_at: None,
        created_at: now,
        attachments: Vec::new(),
        job_kind: if test_only {
            crate::emails::SIMULATE_JOB
        } else {
            crate::emails::DELIVER_JOB
        },
        broadcast_id: None,
        contact_id: None,
    };
    crate::emails::store::insert_accepted(
        app,
        &[crate::emails::store::Accepted {
            emails: vec![email],
            idempotent: None,
        }],
    )
    .await?;
    app.notify_jobs();
    Ok(email_id)
}

/// The broadcast's sender, checked again before a send (it was checked when saved).
fn sender(b: &Broadcast) -> BroadcastResult<Mailbox> {
    Mailbox::parse(&b.from).map_err(BroadcastError::InvalidFrom)
}
