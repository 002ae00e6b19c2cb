//! Topics: what contacts can opt in to or out of (newsletters, product updates…). A contact
//! without an explicit choice for a topic has the topic's `default_subscription`, which is
//! fixed when the topic is created.

use std::collections::HashMap;

use sqlx::FromRow;

use super::history;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Arg, Placeholders, Stmt};
use crate::store::team_rows;

pub const MAX_NAME_LEN: usize = 50;
pub const MAX_DESCRIPTION_LEN: usize = 200;

pub const OPT_IN: &str = "opt_in";
pub const OPT_OUT: &str = "opt_out";

/// What the topics service refuses, in its own words: `http::error` maps each case to
/// Resend's status and error name.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// A field a shared rule refuses: the name (`fields::required_name`), an id the request
    /// names (`store::team_rows::require`).
    #[error(transparent)]
    Field(#[from] crate::fields::FieldError),
    /// A required field is empty or absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The team has no such topic.
    #[error("Topic not found")]
    NotFound,
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type TopicResult<T> = Result<T, TopicError>;

crate::passes_through!(TopicError: sqlx::Error, crate::store::sql::StoreError);

pub fn parse_subscription(value: Option<&str>, field: &'static str) -> TopicResult<&'static str> {
    match value {
        Some(OPT_IN) => Ok(OPT_IN),
        Some(OPT_OUT) => Ok(OPT_OUT),
        None => Err(TopicError::Missing(field)),
        Some(_) => Err(TopicError::Invalid(format!(
            "The `{field}` field must be \"opt_in\" or \"opt_out\"."
        ))),
    }
}

fn parse_visibility(value: &str) -> TopicResult<&'static str> {
    match value {
        "public" => Ok("public"),
        "private" => Ok("private"),
        _ => Err(TopicError::Invalid(
            "The `visibility` field must be \"public\" or \"private\".".into(),
        )),
    }
}

fn validate_name(name: Option<&str>) -> TopicResult<String> {
    Ok(crate::fields::required_name(name, MAX_NAME_LEN)?.to_string())
}

fn validate_description(description: Option<String>) -> TopicResult<Option<String>> {
    let description = description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
    {
        return Err(TopicError::Invalid(format!(
            "The `description` field must be at most {MAX_DESCRIPTION_LEN} characters."
        )));
    }
    Ok(description)
}

#[derive(Debug, Clone, FromRow)]
pub struct Topic {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub default_subscription: String,
    pub visibility: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, description, default_subscription, visibility, created_at";
const TABLE: (&str, &str) = ("topics", COLUMNS);

#[derive(Debug, Default, Clone)]
pub struct TopicInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub default_subscription: Option<String>,
    pub visibility: Option<String>,
}

pub async fn create(app: &App, team_id: &str, input: TopicInput) -> TopicResult<Topic> {
    let name = validate_name(input.name.as_deref())?;
    let default_subscription = parse_subscription(
        input.default_subscription.as_deref(),
        "default_subscription",
    )?;
    let topic = Topic {
        id: new_id(),
        name,
        description: validate_description(input.description)?,
        default_subscription: default_subscription.to_string(),
        visibility: parse_visibility(input.visibility.as_deref().unwrap_or("private"))?.to_string(),
        created_at: app.now_ms(),
    };
    let insert = Stmt::new(
        "INSERT INTO topics (id, team_id, name, description, default_subscription, visibility, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .text(&topic.id)
    .text(team_id)
    .text(&topic.name)
    .opt_text(topic.description.clone())
    .text(&topic.default_subscription)
    .text(&topic.visibility)
    .int(topic.created_at);
    sql::run(app.db(), &[insert]).await?;
    Ok(topic)
}

pub async fn list(app: &App, team_id: &str, page: &Page) -> TopicResult<ListResponse<Topic>> {
    Ok(team_rows::list(app.db(), TABLE, team_id, page).await?)
}

/// Every topic of the team, by name (dashboard).
pub async fn all(app: &App, team_id: &str) -> TopicResult<Vec<Topic>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Topic>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM topics WHERE team_id = $1 ORDER BY name, id"
        ))
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)?)
}

pub async fn find(app: &App, team_id: &str, id: &str) -> TopicResult<Option<Topic>> {
    Ok(team_rows::find(app.db(), TABLE, team_id, id).await?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> TopicResult<Topic> {
    find(app, team_id, id).await?.ok_or(TopicError::NotFound)
}

/// Changes name, description or visibility; the default subscription is fixed.
pub async fn update(app: &App, team_id: &str, id: &str, input: TopicInput) -> TopicResult<Topic> {
    let mut topic = get(app, team_id, id).await?;
    if input
        .default_subscription
        .as_deref()
        .is_some_and(|d| d != topic.default_subscription)
    {
        return Err(TopicError::Invalid(
            "The `default_subscription` of a topic cannot be changed after creation.".into(),
        ));
    }
    if input.name.is_some() {
        topic.name = validate_name(input.name.as_deref())?;
    }
    if input.description.is_some() {
        topic.description = validate_description(input.description)?;
    }
    if let Some(visibility) = &input.visibility {
        topic.visibility = parse_visibility(visibility)?.to_string();
    }
    on_db!(app.db(), |pool| {
        sqlx::query(
        "UPDATE topics SET name = $3, description = $4, visibility = $5 WHERE id = $1 AND team_id = $2"
    )
    .bind(id)
    .bind(team_id)
    .bind(&topic.name)
    .bind(&topic.description)
    .bind(&topic.visibility)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(topic)
}

pub async fn delete(app: &App, team_id: &str, id: &str) -> TopicResult<()> {
    if !team_rows::delete(app.db(), TABLE.0, team_id, id).await? {
        return Err(TopicError::NotFound);
    }
    Ok(())
}

/// A requested subscription change: topic id and `opt_in`/`opt_out`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub id: Option<String>,
    pub subscription: Option<String>,
}

/// A validated choice, with the topic it names.
#[derive(Debug, Clone)]
pub struct CheckedChoice {
    pub topic: Topic,
    pub subscription: &'static str,
}

/// Validates every choice (ids exist, values are opt_in/opt_out); the last choice for a
/// topic wins.
pub async fn check_choices(
    app: &App,
    team_id: &str,
    choices: &[Choice],
) -> TopicResult<Vec<CheckedChoice>> {
    let mut checked: Vec<CheckedChoice> = Vec::new();
    for choice in choices {
        let Some(id) = choice.id.as_deref().filter(|i| !i.is_empty()) else {
            return Err(TopicError::Missing("topics[].id"));
        };
        let subscription = parse_subscription(choice.subscription.as_deref(), "subscription")?;
        let topic: Topic = team_rows::require(app.db(), TABLE, team_id, "topic", id).await??;
        checked.retain(|c| c.topic.id != topic.id);
        checked.push(CheckedChoice {
            topic,
            subscription,
        });
    }
    Ok(checked)
}

/// A contact's explicit choices: (topic id, subscription).
pub async fn explicit_of_contact(
    app: &App,
    contact_id: &str,
) -> TopicResult<Vec<(String, String)>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<
        _,
        (String, String),
    >(
        "SELECT topic_id, subscription FROM contact_topics WHERE contact_id = $1"
    )
    .bind(contact_id)
    .fetch_all(pool)
    .await)?)
}

const CHOICE_INSERT: &str =
    "INSERT INTO contact_topics (contact_id, topic_id, subscription, updated_at)";
/// A new choice replaces the contact's earlier one for the topic.
const CHOICE_REPLACES: &str = " ON CONFLICT (contact_id, topic_id) DO UPDATE SET \
     subscription = excluded.subscription, updated_at = excluded.updated_at";

/// The explicit choices, `(contact id, topic id) → subscription`, of these contacts (an
/// import's batch): one query, an index probe per contact ([`sql::probe`]).
pub async fn choices_of(
    app: &App,
    contact_ids: &[String],
) -> sqlx::Result<HashMap<(String, String), String>> {
    let columns = (
        "t.contact_id, t.topic_id, t.subscription",
        "contact_topics",
        "contact_id",
    );
    let rows: Vec<(String, String, String)> =
        sql::fetch_probe(app.db(), columns, contact_ids, None).await?;
    Ok(rows.into_iter().map(|(c, t, s)| ((c, t), s)).collect())
}

/// Bulk writes of choices, `(contact id, topic id, subscription)` each (an import's batch;
/// its history events are the caller's): each replaces the contact's earlier choice.
pub fn set_many(style: Placeholders, choices: &[(&str, &str, &str)], now: i64) -> Vec<Stmt> {
    let rows = choices
        .iter()
        .map(|(contact, topic, subscription)| {
            vec![
                Arg::Text(Some(contact.to_string())),
                Arg::Text(Some(topic.to_string())),
                Arg::Text(Some(subscription.to_string())),
                Arg::Int(now),
            ]
        })
        .collect();
    sql::bulk_insert(style, CHOICE_INSERT, rows, CHOICE_REPLACES)
}

/// Statements applying checked choices to a contact; only real changes are recorded in the
/// history. `current` are the contact's explicit choices before the change.
pub fn apply_stmts(
    contact_id: &str,
    choices: &[CheckedChoice],
    current: &[(String, String)],
    now: i64,
) -> Vec<Stmt> {
    let mut stmts = Vec::new();
    for choice in choices {
        let before = current
            .iter()
            .find(|(id, _)| *id == choice.topic.id)
            .map(|(_, s)| s.as_str())
            .unwrap_or(choice.topic.default_subscription.as_str());
        stmts.push(
            Stmt::new(format!(
                "{CHOICE_INSERT} VALUES ($1, $2, $3, $4){CHOICE_REPLACES}"
            ))
            .text(contact_id)
            .text(&choice.topic.id)
            .text(choice.subscription)
            .int(now),
        );
        if before != choice.subscription {
            stmts.push(history::topic_event(
                contact_id,
                choice.subscription == OPT_IN,
                &choice.topic.id,
                &choice.topic.name,
                now,
            ));
        }
    }
    stmts
}

pub async fn set_for_contact(
    app: &App,
    team_id: &str,
    contact_id: &str,
    choices: &[Choice],
) -> TopicResult<Vec<CheckedChoice>> {
    let checked = check_choices(app, team_id, choices).await?;
    let current = explicit_of_contact(app, contact_id).await?;
    sql::run(
        app.db(),
        &apply_stmts(contact_id, &checked, &current, app.now_ms()),
    )
    .await?;
    Ok(checked)
}

/// A topic with a contact's effective subscription.
#[derive(Debug, Clone, FromRow)]
pub struct ContactTopic {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub default_subscription: String,
    pub subscription: String,
    pub created_at: i64,
}

pub async fn of_contact(
    app: &App,
    team_id: &str,
    contact_id: &str,
    page: &Page,
) -> TopicResult<ListResponse<ContactTopic>> {
    let table = (
        "topics",
        "id, name, description, default_subscription, created_at, COALESCE((SELECT \
         ct.subscription FROM contact_topics ct WHERE ct.topic_id = topics.id AND \
         ct.contact_id = $3), default_subscription) AS subscription",
    );
    let filter = "$3 IS NOT NULL";
    let values = [Some(contact_id)];
    Ok(team_rows::list_where(app.db(), table, team_id, page, (filter, &values)).await?)
}
