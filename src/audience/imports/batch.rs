//! Writing one batch of parsed rows: contacts created or updated (or skipped), their segment
//! memberships and topic choices, history events, failed rows, and the import's progress,
//! all in one transaction. The progress update comes first and must find the progress this
//! worker expects, so two workers can never both commit the same rows.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use sqlx::FromRow;

use super::error::ImportResult;
use super::rows::{ContactRow, ParsedRow};
use super::{IN_PROGRESS, MAX_LISTED_FAILURES};
use crate::app::App;
use crate::audience::history;
use crate::audience::segments::Segment;
use crate::audience::topics::Topic;
use crate::on_db;
use crate::store::new_id;
use crate::store::sql::{self, Arg, BindArgs, Placeholders, Stmt, bulk_insert};
use crate::store::team_rows::Row;

/// What applies to every row of an import.
#[derive(Debug, Clone)]
pub struct ImportContext {
    pub import_id: String,
    pub team_id: String,
    pub upsert: bool,
    pub segments: Vec<Segment>,
    pub topics: Vec<(Topic, String)>,
}

/// Consecutive records of the file; `records` counts them all, good or bad.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub rows: Vec<ParsedRow>,
    pub records: i64,
    /// Byte offset in the file after the last record (progress display).
    pub end_byte: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
}

#[derive(Debug, FromRow)]
struct Existing {
    id: String,
    email_lower: String,
    first_name: Option<String>,
    last_name: Option<String>,
    unsubscribed: bool,
    properties: String,
}

fn text(value: &str) -> Arg {
    Arg::Text(Some(value.to_string()))
}

fn opt_text(value: &Option<String>) -> Arg {
    Arg::Text(value.clone())
}

async fn existing_contacts(
    app: &App,
    team_id: &str,
    emails: &[&str],
) -> ImportResult<HashMap<String, Existing>> {
    if emails.is_empty() {
        return Ok(HashMap::new());
    }
    let probe = sql::probe(
        Placeholders::of(app.db()),
        (
            "t.id, t.email_lower, t.first_name, t.last_name, t.unsubscribed, t.properties",
            "contacts",
            "email_lower",
        ),
        emails,
        Some(team_id),
    );
    let rows: Vec<Existing> = fetch_probed(app, &probe).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.email_lower.clone(), r))
        .collect())
}

/// The rows `probe` selects, planned for each batch: a plan cached while the table was empty
/// would outlive it.
async fn fetch_probed<T: Row>(app: &App, probe: &Stmt) -> ImportResult<Vec<T>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(probe.sql.clone())
    )
    .persistent(false)
    .bind_args(&probe.args)
    .fetch_all(pool)
    .await)?)
}

/// (contact id, other id) → value, for rows of `table` about these contacts; `columns` are
/// the other id and the value.
async fn existing_pairs(
    app: &App,
    table: &str,
    columns: &str,
    contact_ids: &[String],
) -> ImportResult<HashMap<(String, String), String>> {
    if contact_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<&str> = contact_ids.iter().map(String::as_str).collect();
    let select = format!("t.contact_id, {columns}");
    let probe = sql::probe(
        Placeholders::of(app.db()),
        (&select, table, "contact_id"),
        &ids,
        None,
    );
    let rows: Vec<(String, String, String)> = fetch_probed(app, &probe).await?;
    Ok(rows.into_iter().map(|(c, o, v)| ((c, o), v)).collect())
}

fn merged_properties(stored: &str, changes: &Map<String, Value>) -> String {
    crate::audience::properties::merge(stored, changes)
}

/// Writes a batch; `rows_done` is the import's progress before it. Fails with a conflict
/// (and writes nothing) when the progress is not what this worker expects.
pub async fn write(
    app: &App,
    ctx: &ImportContext,
    batch: Batch,
    rows_done: i64,
    failures_listed: i64,
) -> ImportResult<Counts> {
    let now = app.now_ms();
    let style = Placeholders::of(app.db());
    let mut counts = Counts::default();

    // Failed rows, and one row per address (a repeated address folds into the first).
    let records = batch.records;
    let mut failures: Vec<(u64, String)> = Vec::new();
    let mut unique: Vec<ContactRow> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for row in batch.rows {
        match row.result {
            Err(reason) => failures.push((row.line, reason)),
            Ok(contact) => match position.get(&contact.email_lower) {
                Some(&at) if ctx.upsert => {
                    unique[at].absorb(contact);
                    counts.updated += 1;
                }
                Some(_) => counts.skipped += 1,
                None => {
                    position.insert(contact.email_lower.clone(), unique.len());
                    unique.push(contact);
                }
            },
        }
    }
    counts.failed = failures.len() as i64;

    let emails: Vec<&str> = unique.iter().map(|c| c.email_lower.as_str()).collect();
    let existing = existing_contacts(app, &ctx.team_id, &emails).await?;

    let mut inserts: Vec<Vec<Arg>> = Vec::new();
    let mut upserts: Vec<Vec<Arg>> = Vec::new();
    let mut events: Vec<Stmt> = Vec::new();
    // Contacts the segments and topics apply to: (id, is new).
    let mut touched: Vec<(String, bool)> = Vec::new();
    for row in unique {
        let values = |id: &str,
                      first: &Option<String>,
                      last: &Option<String>,
                      unsub: bool,
                      props: String| {
            vec![
                text(id),
                text(&ctx.team_id),
                text(&row.email),
                text(&row.email_lower),
                opt_text(first),
                opt_text(last),
                Arg::Bool(unsub),
                Arg::Text(Some(props)),
                Arg::Int(now),
                Arg::Int(now),
            ]
        };
        match existing.get(&row.email_lower) {
            Some(_) if !ctx.upsert => counts.skipped += 1,
            Some(old) => {
                counts.updated += 1;
                let first = row.first_name.clone().or(old.first_name.clone());
                let last = row.last_name.clone().or(old.last_name.clone());
                let unsub = row.unsubscribed.unwrap_or(old.unsubscribed);
                if unsub != old.unsubscribed {
                    events.push(history::unsubscribe_event(&old.id, unsub, now));
                }
                let props = merged_properties(&old.properties, &row.properties);
                upserts.push(values(&old.id, &first, &last, unsub, props));
                touched.push((old.id.clone(), false));
            }
            None => {
                counts.created += 1;
                let id = new_id();
                let props = Value::Object(row.properties.clone()).to_string();
                inserts.push(values(
                    &id,
                    &row.first_name,
                    &row.last_name,
                    row.unsubscribed.unwrap_or(false),
                    props,
                ));
                touched.push((id, true));
            }
        }
    }

    let mut stmts = vec![
        Stmt::new(
            "UPDATE contact_imports SET rows_done = $2, created_count = created_count + $3, \
             updated_count = updated_count + $4, skipped_count = skipped_count + $5, \
             failed_count = failed_count + $6, updated_at = $7 \
             WHERE id = $1 AND rows_done = $8 AND status = $9",
        )
        .text(&ctx.import_id)
        .int(rows_done + records)
        .int(counts.created)
        .int(counts.updated)
        .int(counts.skipped)
        .int(counts.failed)
        .int(now)
        .int(rows_done)
        .text(IN_PROGRESS)
        .expect_rows(1),
    ];
    const CONTACT_INSERT: &str = "INSERT INTO contacts (id, team_id, email, email_lower, \
         first_name, last_name, unsubscribed, properties, created_at, updated_at)";
    let new_count = inserts.len() as u64;
    let mut new_stmts = bulk_insert(
        style,
        CONTACT_INSERT,
        inserts,
        " ON CONFLICT (team_id, email_lower) DO NOTHING",
    );
    if let [only] = new_stmts.as_mut_slice() {
        // Someone else created one of these addresses meanwhile: retry the batch later.
        only.expect_rows = Some(new_count);
    }
    stmts.extend(new_stmts);
    stmts.extend(bulk_insert(
        style,
        CONTACT_INSERT,
        upserts,
        " ON CONFLICT (team_id, email_lower) DO UPDATE SET first_name = excluded.first_name, \
         last_name = excluded.last_name, unsubscribed = excluded.unsubscribed, \
         properties = excluded.properties, updated_at = excluded.updated_at",
    ));
    stmts.extend(membership_stmts(app, ctx, &touched, now, &mut events).await?);
    stmts.extend(events);

    let room = (MAX_LISTED_FAILURES - failures_listed).max(0) as usize;
    let failure_rows: Vec<Vec<Arg>> = failures
        .into_iter()
        .take(room)
        .map(|(line, reason)| {
            vec![
                text(&ctx.import_id),
                Arg::Int(line as i64),
                Arg::Text(Some(reason)),
            ]
        })
        .collect();
    stmts.extend(bulk_insert(
        style,
        "INSERT INTO contact_import_failures (import_id, line, reason)",
        failure_rows,
        " ON CONFLICT (import_id, line) DO NOTHING",
    ));
    sql::run(app.db(), &stmts).await?;
    Ok(counts)
}

/// Segment memberships and topic choices for the imported contacts, with one history event
/// per contact that gained any.
async fn membership_stmts(
    app: &App,
    ctx: &ImportContext,
    touched: &[(String, bool)],
    now: i64,
    events: &mut Vec<Stmt>,
) -> ImportResult<Vec<Stmt>> {
    let style = Placeholders::of(app.db());
    let mut stmts = Vec::new();
    if touched.is_empty() || (ctx.segments.is_empty() && ctx.topics.is_empty()) {
        return Ok(stmts);
    }
    let old: Vec<String> = touched
        .iter()
        .filter(|(_, fresh)| !fresh)
        .map(|(id, _)| id.clone())
        .collect();
    // What changed for each contact, recorded as one `contact.imported` history event.
    let mut changes: HashMap<&str, (Vec<Value>, Vec<Value>)> = HashMap::new();

    if !ctx.segments.is_empty() {
        let member: HashSet<(String, String)> =
            existing_pairs(app, "contact_segments", "t.segment_id, t.segment_id", &old)
                .await?
                .into_keys()
                .collect();
        let mut rows = Vec::new();
        for (contact, _) in touched {
            for segment in &ctx.segments {
                if member.contains(&(contact.clone(), segment.id.clone())) {
                    continue;
                }
                rows.push(vec![text(&segment.id), text(contact), Arg::Int(now)]);
                changes.entry(contact).or_default().0.push(
                    serde_json::json!({"segment_id": segment.id, "segment_name": segment.name}),
                );
            }
        }
        stmts.extend(bulk_insert(
            style,
            "INSERT INTO contact_segments (segment_id, contact_id, created_at)",
            rows,
            " ON CONFLICT (segment_id, contact_id) DO NOTHING",
        ));
    }

    if !ctx.topics.is_empty() {
        let chosen =
            existing_pairs(app, "contact_topics", "t.topic_id, t.subscription", &old).await?;
        let mut rows = Vec::new();
        for (contact, _) in touched {
            for (topic, subscription) in &ctx.topics {
                let before = chosen
                    .get(&(contact.clone(), topic.id.clone()))
                    .unwrap_or(&topic.default_subscription);
                rows.push(vec![
                    text(contact),
                    text(&topic.id),
                    text(subscription),
                    Arg::Int(now),
                ]);
                if before != subscription {
                    changes.entry(contact).or_default().1.push(serde_json::json!({
                        "topic_id": topic.id, "topic_name": topic.name, "subscription": subscription
                    }));
                }
            }
        }
        stmts.extend(bulk_insert(
            style,
            "INSERT INTO contact_topics (contact_id, topic_id, subscription, updated_at)",
            rows,
            " ON CONFLICT (contact_id, topic_id) DO UPDATE SET subscription = excluded.subscription, \
             updated_at = excluded.updated_at",
        ));
    }
    let event_rows: Vec<Vec<Arg>> = touched
        .iter()
        .filter_map(|(contact, _)| {
            let (segments, topics) = changes.get(contact.as_str())?;
            let data = serde_json::json!({
                "import_id": ctx.import_id, "segments": segments, "topics": topics
            });
            Some(vec![
                text(&new_id()),
                text(contact),
                text(history::IMPORTED),
                Arg::Text(Some(data.to_string())),
                Arg::Int(now),
            ])
        })
        .collect();
    events.extend(bulk_insert(style, history::INSERT_HEAD, event_rows, ""));
    Ok(stmts)
}
