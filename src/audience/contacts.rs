//! Contacts: one per email address and team (case-insensitive), with a name, the global
//! unsubscribe flag, custom property values, segment memberships and topic choices.
//!
//! Every write validates all of its input first (email, property keys and types, segment and
//! topic ids) and then commits in one transaction, so a refused request changes nothing.

use serde_json::{Map, Value, json};
use sqlx::FromRow;

use super::properties::{self, Schema};
use super::segments::{self, Segment};
use super::topics::{self, Choice};
use super::{email, history};
use crate::clock::iso_timestamp;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Arg, Placeholders, Stmt};
use crate::store::team_rows::Row;
use crate::webhooks;

crate::service_error! {
    /// What the contacts service refuses, without HTTP: `http::error` maps each case to
    /// Resend's status and error name.
    pub enum ContactError {
        /// A field has a value the rules refuse; the message names the field.
        #[error("{0}")]
        Invalid(String),
        /// A contact is addressed by something that is neither an id nor an address.
        #[error("The contact `id` must be a valid UUID or an email address.")]
        BadKey,
        /// Another contact of the team has this address.
        #[error("Another contact already has the email address `{0}`.")]
        EmailTaken(String),
        /// The team has no such contact.
        #[error("Contact not found")]
        NotFound,
    }
    passes [
        Field(crate::fields::FieldError),
        Property(crate::audience::properties::PropertyError),
        Segment(crate::audience::segments::SegmentError),
        Topic(crate::audience::topics::TopicError),
    ]
    fails [sqlx::Error, crate::store::sql::StoreError]
}

pub type ContactResult<T> = Result<T, ContactError>;

impl ContactError {
    /// Whether this is a failure under the service rather than a refusal (see
    /// `EmailError::is_failure`).
    pub fn is_failure(&self) -> bool {
        match self {
            ContactError::Failed(err)
            | ContactError::Property(properties::PropertyError::Failed(err))
            | ContactError::Segment(segments::SegmentError::Failed(err))
            | ContactError::Topic(topics::TopicError::Failed(err)) => !err.is_conflict(),
            _ => false,
        }
    }
}

pub const MAX_NAME_LEN: usize = 255;

#[derive(Debug, Clone, FromRow)]
pub struct Contact {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub unsubscribed: bool,
    /// JSON object of custom property values.
    pub properties: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const COLUMNS: &str =
    "id, email, first_name, last_name, unsubscribed, properties, created_at, updated_at";

impl Contact {
    pub fn properties_map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.properties).unwrap_or_default()
    }
    pub fn status(&self) -> Status {
        Status::of(self.unsubscribed)
    }
    pub fn full_name(&self) -> String {
        [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The unsubscribe status, as the product defines it: **Unsubscribed** means unsubscribed
/// from everything (the contact's `unsubscribed` flag); otherwise the contact is
/// **Subscribed**: it receives broadcasts, and every topic it has not opted out of (topics
/// with an `opt_in` default, or chosen explicitly). This one definition feeds the API's
/// `unsubscribed` field, the dashboard's status column and its status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Subscribed,
    Unsubscribed,
}

impl Status {
    pub fn of(unsubscribed: bool) -> Self {
        if unsubscribed {
            Self::Unsubscribed
        } else {
            Self::Subscribed
        }
    }
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "subscribed" => Some(Self::Subscribed),
            "unsubscribed" => Some(Self::Unsubscribed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscribed => "subscribed",
            Self::Unsubscribed => "unsubscribed",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Subscribed => "Subscribed",
            Self::Unsubscribed => "Unsubscribed",
        }
    }
    /// The list filter selecting contacts with this status.
    fn sql(self) -> &'static str {
        match self {
            Self::Subscribed => "unsubscribed = FALSE",
            Self::Unsubscribed => "unsubscribed = TRUE",
        }
    }
}

/// What a create or update may carry. `None` leaves a field alone; `Some(None)` clears a name.
#[derive(Debug, Default, Clone)]
pub struct ContactInput {
    pub email: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub unsubscribed: Option<bool>,
    /// Values to set; `null` removes one.
    pub properties: Option<Map<String, Value>>,
    /// Segments to add the contact to.
    pub segments: Vec<String>,
    /// Topic choices to apply.
    pub topics: Vec<Choice>,
}

fn clean_name(name: Option<String>, field: &str) -> ContactResult<Option<String>> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_LEN)
    {
        return Err(ContactError::Invalid(format!(
            "The `{field}` field must be at most {MAX_NAME_LEN} characters."
        )));
    }
    Ok(name)
}

/// Contacts are addressed by id or by email address in paths.
pub async fn find(app: &App, team_id: &str, id_or_email: &str) -> ContactResult<Option<Contact>> {
    let key = id_or_email.trim();
    let (column, value) = if uuid::Uuid::parse_str(key).is_ok() {
        ("id", key.to_string())
    } else if key.contains('@') {
        ("email_lower", email::lower(key))
    } else {
        return Err(ContactError::BadKey);
    };
    let sql = format!("SELECT {COLUMNS} FROM contacts WHERE {column} = $1 AND team_id = $2");
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Contact>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(&value)
    .bind(team_id)
    .fetch_optional(pool)
    .await)?)
}

pub async fn get(app: &App, team_id: &str, id_or_email: &str) -> ContactResult<Contact> {
    find(app, team_id, id_or_email)
        .await?
        .ok_or(ContactError::NotFound)
}

/// The statement removing the value of property `key` from every contact of the team, for
/// the property's deletion (`audience::properties::delete` runs it with its own). The one
/// place JSON is edited in SQL; the dialects spell it differently.
pub fn strip_property(db: &crate::store::Db, team_id: &str, key: &str) -> Stmt {
    let sql = if db.is_postgres() {
        "UPDATE contacts SET properties = (properties::jsonb - $2)::text \
         WHERE team_id = $1 AND jsonb_exists(properties::jsonb, $2)"
    } else {
        "UPDATE contacts SET properties = json_remove(properties, '$.\"' || $2 || '\"') \
         WHERE team_id = $1 AND json_type(properties, '$.\"' || $2 || '\"') IS NOT NULL"
    };
    Stmt::new(sql).text(team_id).text(key)
}

/// What a CSV import needs of a contact it meets again.
#[derive(Debug, FromRow)]
pub struct Known {
    pub id: String,
    pub email_lower: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub unsubscribed: bool,
    pub properties: String,
}

/// The team's contacts with these lower-cased addresses (an import's batch): one query, an
/// index probe per address ([`sql::probe`]).
pub async fn known_by_email(app: &App, team_id: &str, emails: &[&str]) -> sqlx::Result<Vec<Known>> {
    sql::fetch_probe(
        app.db(),
        (
            "t.id, t.email_lower, t.first_name, t.last_name, t.unsubscribed, t.properties",
            "contacts",
            "email_lower",
        ),
        emails,
        Some(team_id),
    )
    .await
}

/// A contact as an import's bulk write stores it (`properties` as JSON text).
#[derive(Debug)]
pub struct Written {
    pub id: String,
    pub email: String,
    pub email_lower: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub unsubscribed: bool,
    pub properties: String,
}

const BULK_INSERT: &str = "INSERT INTO contacts (id, team_id, email, email_lower, first_name, \
     last_name, unsubscribed, properties, created_at, updated_at)";

fn bulk_rows(team_id: &str, rows: Vec<Written>, now: i64) -> Vec<Vec<Arg>> {
    rows.into_iter()
        .map(|c| {
            vec![
                Arg::Text(Some(c.id)),
                Arg::Text(Some(team_id.to_string())),
                Arg::Text(Some(c.email)),
                Arg::Text(Some(c.email_lower)),
                Arg::Text(c.first_name),
                Arg::Text(c.last_name),
                Arg::Bool(c.unsubscribed),
                Arg::Text(Some(c.properties)),
                Arg::Int(now),
                Arg::Int(now),
            ]
        })
        .collect()
}

/// Bulk inserts of new contacts of the team (an import's batch). When they fit in one
/// statement it must insert every row: an address another writer created meanwhile fails
/// the caller's transaction as a conflict, and the batch is retried.
pub fn insert_many(style: Placeholders, team_id: &str, rows: Vec<Written>, now: i64) -> Vec<Stmt> {
    let count = rows.len() as u64;
    let mut stmts = sql::bulk_insert(
        style,
        BULK_INSERT,
        bulk_rows(team_id, rows, now),
        " ON CONFLICT (team_id, email_lower) DO NOTHING",
    );
    if let [only] = stmts.as_mut_slice() {
        only.expect_rows = Some(count);
    }
    stmts
}

/// Bulk writes of existing contacts of the team (an import's batch, by address): names,
/// unsubscribe flag and properties replace the stored ones.
pub fn update_many(style: Placeholders, team_id: &str, rows: Vec<Written>, now: i64) -> Vec<Stmt> {
    sql::bulk_insert(
        style,
        BULK_INSERT,
        bulk_rows(team_id, rows, now),
        " ON CONFLICT (team_id, email_lower) DO UPDATE SET first_name = excluded.first_name, \
         last_name = excluded.last_name, unsubscribed = excluded.unsubscribed, \
         properties = excluded.properties, updated_at = excluded.updated_at",
    )
}

/// The `contact.*` webhook types.
pub const WEBHOOK_CREATED: &str = "contact.created";
pub const WEBHOOK_UPDATED: &str = "contact.updated";
pub const WEBHOOK_DELETED: &str = "contact.deleted";

/// The `contact.*` webhook event about `contact` as it is after the change (before it, for a
/// deletion), in `segment_ids`; recorded with the change, in the backend's `style`
/// ([`Placeholders::of`] the database the statements run on).
pub fn webhook_event(
    style: Placeholders,
    team_id: &str,
    kind: &str,
    contact: &Contact,
    segment_ids: &[String],
    now: i64,
) -> Stmt {
    let mut data = json!({
        "id": contact.id,
        "segment_ids": segment_ids,
        "created_at": iso_timestamp(contact.created_at),
        "updated_at": iso_timestamp(contact.updated_at),
        "email": contact.email,
        "unsubscribed": contact.unsubscribed,
    });
    for (key, name) in [
        ("first_name", &contact.first_name),
        ("last_name", &contact.last_name),
    ] {
        if let Some(name) = name {
            data[key] = json!(name);
        }
    }
    // One event is one statement.
    webhooks::emit(
        style,
        &[webhooks::Event::resource(team_id, kind, &data, now)],
    )
    .remove(0)
}

/// Statements adding a contact to `segments` and applying topic `choices`.
struct Memberships {
    stmts: Vec<Stmt>,
    /// The contact's segments after the change.
    segment_ids: Vec<String>,
    /// Whether it joined any segment.
    joined: bool,
    /// The placeholders of the database the statements run on.
    style: Placeholders,
}

impl Memberships {
    /// The statements, then the contact's `kind` event with its segments after the change.
    fn with_event(mut self, team_id: &str, kind: &str, contact: &Contact, now: i64) -> Vec<Stmt> {
        self.stmts.push(webhook_event(
            self.style,
            team_id,
            kind,
            contact,
            &self.segment_ids,
            now,
        ));
        self.stmts
    }

    /// The statements, with the contact's `contact.updated` event if it joined a segment.
    fn with_update(self, team_id: &str, contact: &Contact, now: i64) -> Vec<Stmt> {
        if self.joined {
            self.with_event(team_id, WEBHOOK_UPDATED, contact, now)
        } else {
            self.stmts
        }
    }
}

async fn memberships(
    app: &App,
    contact_id: &str,
    segments: &[Segment],
    choices: &[topics::CheckedChoice],
    fresh: bool,
    now: i64,
) -> ContactResult<Memberships> {
    let (mut segment_ids, current_topics) = if fresh {
        (Vec::new(), Vec::new())
    } else {
        (
            segments::ids_of_contact(app, contact_id).await?,
            topics::explicit_of_contact(app, contact_id).await?,
        )
    };
    let mut stmts = Vec::new();
    let mut joined = false;
    for segment in segments {
        let already = segment_ids.contains(&segment.id);
        stmts.extend(segments::add_stmts(contact_id, segment, now, already));
        if !already {
            segment_ids.push(segment.id.clone());
            joined = true;
        }
    }
    stmts.extend(topics::apply_stmts(
        contact_id,
        choices,
        &current_topics,
        now,
    ));
    Ok(Memberships {
        stmts,
        segment_ids,
        joined,
        style: Placeholders::of(app.db()),
    })
}

/// Creates a contact. An existing contact with the same email (any case) is returned as is,
/// as Resend does, after joining the requested segments and topics. Returns whether the
/// contact is new.
pub async fn create(
    app: &App,
    team_id: &str,
    input: ContactInput,
) -> ContactResult<(Contact, bool)> {
    let address = email::require(input.email.as_deref())?;
    let first_name = clean_name(input.first_name.flatten(), "first_name")?;
    let last_name = clean_name(input.last_name.flatten(), "last_name")?;
    let values = input.properties.unwrap_or_default();
    Schema::load(app, team_id).await?.check(&values)?;
    let segments = segments::require_all(app, team_id, &input.segments).await?;
    let choices = topics::check_choices(app, team_id, &input.topics).await?;
    let now = app.now_ms();

    if let Some(existing) = find(app, team_id, &address).await? {
        let joined = memberships(app, &existing.id, &segments, &choices, false, now).await?;
        let stmts = joined.with_update(team_id, &existing, now);
        sql::run(app.db(), &stmts).await?;
        return Ok((existing, false));
    }
    let contact = Contact {
        id: new_id(),
        email: address,
        first_name,
        last_name,
        unsubscribed: input.unsubscribed.unwrap_or(false),
        properties: properties::merge("{}", &values),
        created_at: now,
        updated_at: now,
    };
    let insert = Stmt::new(
        "INSERT INTO contacts (id, team_id, email, email_lower, first_name, last_name, \
         unsubscribed, properties, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (team_id, email_lower) DO NOTHING",
    );
    let mut stmts = vec![
        with_fields(insert, team_id, &contact, now)
            // Another request created it a moment ago: refuse rather than guess.
            .expect_rows(1),
    ];
    let joined = memberships(app, &contact.id, &segments, &choices, true, now).await?;
    stmts.extend(joined.with_event(team_id, WEBHOOK_CREATED, &contact, now));
    sql::run(app.db(), &stmts).await?;
    Ok((contact, true))
}

/// Binds `$1`–`$9`: the contact's id, team, address (as given and lower-cased), names,
/// unsubscribed flag, properties and `now`, in the order its insert and update use.
fn with_fields(stmt: Stmt, team_id: &str, contact: &Contact, now: i64) -> Stmt {
    stmt.text(&contact.id)
        .text(team_id)
        .text(&contact.email)
        .text(email::lower(&contact.email))
        .opt_text(contact.first_name.clone())
        .opt_text(contact.last_name.clone())
        .bool(contact.unsubscribed)
        .text(&contact.properties)
        .int(now)
}

/// Updates the fields given; properties are merged into the stored ones.
pub async fn update(
    app: &App,
    team_id: &str,
    id_or_email: &str,
    input: ContactInput,
) -> ContactResult<Contact> {
    let before = get(app, team_id, id_or_email).await?;
    let mut contact = before.clone();
    if let Some(raw) = input.email.as_deref() {
        let address = email::require(Some(raw))?;
        if email::lower(&address) != email::lower(&contact.email)
            && find(app, team_id, &address).await?.is_some()
        {
            return Err(ContactError::EmailTaken(address));
        }
        contact.email = address;
    }
    if let Some(name) = input.first_name {
        contact.first_name = clean_name(name, "first_name")?;
    }
    if let Some(name) = input.last_name {
        contact.last_name = clean_name(name, "last_name")?;
    }
    if let Some(unsubscribed) = input.unsubscribed {
        contact.unsubscribed = unsubscribed;
    }
    if let Some(values) = &input.properties {
        Schema::load(app, team_id).await?.check(values)?;
        contact.properties = properties::merge(&contact.properties, values);
    }
    let segments = segments::require_all(app, team_id, &input.segments).await?;
    let choices = topics::check_choices(app, team_id, &input.topics).await?;
    let now = app.now_ms();
    contact.updated_at = now;

    let change = Stmt::new(
        "UPDATE contacts SET email = $3, email_lower = $4, first_name = $5, last_name = $6, \
         unsubscribed = $7, properties = $8, updated_at = $9 \
         WHERE id = $1 AND team_id = $2 AND updated_at = $10",
    );
    let mut stmts = vec![
        with_fields(change, team_id, &contact, now)
            .int(before.updated_at)
            // A concurrent update would otherwise lose one side's property changes.
            .expect_rows(1),
    ];
    if contact.unsubscribed != before.unsubscribed {
        stmts.push(history::unsubscribe_event(
            &contact.id,
            contact.unsubscribed,
            now,
        ));
    }
    let joined = memberships(app, &contact.id, &segments, &choices, false, now).await?;
    stmts.extend(joined.with_event(team_id, WEBHOOK_UPDATED, &contact, now));
    sql::run(app.db(), &stmts).await?;
    Ok(contact)
}

/// Deletes a contact by id or email; deleting one that does not exist is not an error.
pub async fn delete(app: &App, team_id: &str, id_or_email: &str) -> ContactResult<()> {
    if let Some(contact) = find(app, team_id, id_or_email).await? {
        delete_many(app, team_id, &[contact.id]).await?;
    }
    Ok(())
}

/// Deletes contacts by id (dashboard bulk delete), each with its `contact.deleted` event;
/// returns how many existed.
pub async fn delete_many(app: &App, team_id: &str, ids: &[String]) -> ContactResult<u64> {
    // A contact deleted meanwhile by another request rolls this back (its event is that
    // request's); the second pass no longer finds it.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = app.now_ms();
        let mut stmts = Vec::new();
        let mut found = 0;
        for id in ids {
            let Some(contact) = find(app, team_id, id).await? else {
                continue;
            };
            found += 1;
            let segment_ids = segments::ids_of_contact(app, &contact.id).await?;
            stmts.push(
                Stmt::new("DELETE FROM contacts WHERE id = $1 AND team_id = $2")
                    .text(&contact.id)
                    .text(team_id)
                    .expect_rows(1),
            );
            stmts.push(webhook_event(
                Placeholders::of(app.db()),
                team_id,
                WEBHOOK_DELETED,
                &contact,
                &segment_ids,
                now,
            ));
        }
        match sql::run(app.db(), &stmts).await {
            Err(err) if sql::is_conflict(&err) && attempts < 3 => continue,
            result => return Ok(result.map(|_| found)?),
        }
    }
}

/// Adds each contact to each segment (dashboard bulk action).
pub async fn add_many_to_segments(
    app: &App,
    team_id: &str,
    contact_ids: &[String],
    segment_ids: &[String],
) -> ContactResult<()> {
    let segments = segments::require_all(app, team_id, segment_ids).await?;
    let now = app.now_ms();
    let mut stmts = Vec::new();
    for id in contact_ids {
        let contact = get(app, team_id, id).await?;
        let joined = memberships(app, &contact.id, &segments, &[], false, now).await?;
        stmts.extend(joined.with_update(team_id, &contact, now));
    }
    sql::run(app.db(), &stmts).await?;
    Ok(())
}

/// Subscribes each contact to each topic (dashboard bulk action).
pub async fn subscribe_many(
    app: &App,
    team_id: &str,
    contact_ids: &[String],
    topic_ids: &[String],
) -> ContactResult<()> {
    let choices: Vec<Choice> = topic_ids
        .iter()
        .map(|id| Choice {
            id: Some(id.clone()),
            subscription: Some(topics::OPT_IN.into()),
        })
        .collect();
    let choices = topics::check_choices(app, team_id, &choices).await?;
    let now = app.now_ms();
    let mut stmts = Vec::new();
    for id in contact_ids {
        let contact = get(app, team_id, id).await?;
        stmts.extend(
            memberships(app, &contact.id, &[], &choices, false, now)
                .await?
                .stmts,
        );
    }
    sql::run(app.db(), &stmts).await?;
    Ok(())
}

/// Narrows a contact list.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub segment_id: Option<String>,
    /// Part of the email address or name, any case.
    pub search: Option<String>,
    pub status: Option<Status>,
}

/// The list's filters as a query string gives them (the dashboard's list, an export).
#[derive(Debug, Default, serde::Deserialize)]
pub struct FilterParams {
    pub q: Option<String>,
    pub status: Option<String>,
    pub segment: Option<String>,
}

/// The filters as [`list`] takes them (a segment id that is no UUID is no filter).
pub fn read_filter(params: &FilterParams) -> ListFilter {
    ListFilter {
        segment_id: params
            .segment
            .clone()
            .filter(|s| uuid::Uuid::parse_str(s).is_ok()),
        search: params.q.clone(),
        status: params.status.as_deref().and_then(Status::parse),
    }
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The conditions a filter adds to `team_id = $1` and their values, bound from `$first` on
/// (a segment reads `contact_segments` in a subquery).
fn filter_conditions(filter: &ListFilter, first: usize) -> (Vec<String>, Vec<String>) {
    let mut conditions = vec!["TRUE".to_string()];
    let mut binds: Vec<String> = Vec::new();
    if let Some(segment) = &filter.segment_id {
        binds.push(segment.clone());
        conditions.push(format!(
            "id IN (SELECT contact_id FROM contact_segments WHERE segment_id = ${})",
            binds.len() + first - 1
        ));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        binds.push(like_pattern(search));
        let n = binds.len() + first - 1;
        conditions.push(format!(
            "(email_lower LIKE ${n} ESCAPE '\\' OR LOWER(COALESCE(first_name, '') || ' ' || \
             COALESCE(last_name, '')) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(status) = filter.status {
        conditions.push(status.sql().to_string());
    }
    (conditions, binds)
}

pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    filter: &ListFilter,
) -> ContactResult<ListResponse<Contact>> {
    let (conditions, binds) = filter_conditions(filter, 3);
    let sql = page.sql(COLUMNS, "contacts", &conditions.join(" AND "));
    let rows = on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, Contact>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(team_id)
            .bind(page.cursor_id());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(pool).await
    })?;
    Ok(page.finish(rows))
}

/// `SELECT {what}` over the team's contacts that match the filter, then `tail` (an order).
async fn matching<T: Row>(
    app: &App,
    team_id: &str,
    filter: &ListFilter,
    what: &str,
    tail: &str,
) -> ContactResult<Vec<T>> {
    let (conditions, binds) = filter_conditions(filter, 2);
    let sql = format!(
        "SELECT {what} FROM contacts WHERE team_id = $1 AND {}{tail}",
        conditions.join(" AND ")
    );
    let rows = on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.clone())).bind(team_id);
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(pool).await
    })?;
    Ok(rows)
}

/// How many of the team's contacts match the filter.
pub async fn count(app: &App, team_id: &str, filter: &ListFilter) -> ContactResult<i64> {
    let rows: Vec<(i64,)> = matching(app, team_id, filter, "COUNT(*)", "").await?;
    Ok(rows.first().map_or(0, |(count,)| *count))
}

/// The ids of every contact of the team matching the filter (bulk actions on "all matching").
pub async fn matching_ids(
    app: &App,
    team_id: &str,
    filter: &ListFilter,
) -> ContactResult<Vec<String>> {
    let rows: Vec<(String,)> = matching(app, team_id, filter, "id", " ORDER BY id").await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Ann_50%"), "%ann\\_50\\%%");
    }

    #[test]
    fn status_is_the_flag() {
        assert_eq!(Status::of(true), Status::Unsubscribed);
        assert_eq!(Status::of(false), Status::Subscribed);
        assert_eq!(Status::parse("unsubscribed"), Some(Status::Unsubscribed));
        assert_eq!(Status::parse("all"), None);
    }
}
