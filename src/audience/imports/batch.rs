//! Writing one batch of parsed rows: contacts created or updated (or skipped), their segment
//! memberships and topic choices, history events, failed rows, and the import's progress,
//! all in one transaction. The progress update comes first and must find the progress this
//! worker expects, so two workers can never both commit the same rows. The reads and bulk
//! statements of other owners' tables (contacts, memberships, choices, history) are theirs:
//! this module decides what to write and runs it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::ImportResult;
use super::rows::{ContactRow, ParsedRow};
use super::{IN_PROGRESS, MAX_LISTED_FAILURES};
use crate::audience::segments::{self, Segment};
use crate::audience::topics::{self, Topic};
use crate::audience::{contacts, history};
use crate::handle::App;
use crate::store::new_id;
use crate::store::sql::{self, Arg, Placeholders, Stmt, bulk_insert};

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

fn text(value: &str) -> Arg {
    Arg::Text(Some(value.to_string()))
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
    let existing: HashMap<String, contacts::Known> =
        contacts::known_by_email(app, &ctx.team_id, &emails)
            .await?
            .into_iter()
            .map(|c| (c.email_lower.clone(), c))
            .collect();

    let mut inserts: Vec<contacts::Written> = Vec::new();
    let mut upserts: Vec<contacts::Written> = Vec::new();
    let mut events: Vec<Stmt> = Vec::new();
    // Contacts the segments and topics apply to: (id, is new).
    let mut touched: Vec<(String, bool)> = Vec::new();
    for row in unique {
        match existing.get(&row.email_lower) {
            Some(_) if !ctx.upsert => counts.skipped += 1,
            Some(old) => {
                counts.updated += 1;
                let unsubscribed = row.unsubscribed.unwrap_or(old.unsubscribed);
                if unsubscribed != old.unsubscribed {
                    events.push(history::unsubscribe_event(&old.id, unsubscribed, now));
                }
                upserts.push(contacts::Written {
                    id: old.id.clone(),
                    first_name: row.first_name.or(old.first_name.clone()),
                    last_name: row.last_name.or(old.last_name.clone()),
                    unsubscribed,
                    properties: merged_properties(&old.properties, &row.properties),
                    email: row.email,
                    email_lower: row.email_lower,
                });
                touched.push((old.id.clone(), false));
            }
            None => {
                counts.created += 1;
                let id = new_id();
                touched.push((id.clone(), true));
                inserts.push(contacts::Written {
                    id,
                    first_name: row.first_name,
                    last_name: row.last_name,
                    unsubscribed: row.unsubscribed.unwrap_or(false),
                    properties: Value::Object(row.properties).to_string(),
                    email: row.email,
                    email_lower: row.email_lower,
                });
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
    stmts.extend(contacts::insert_many(style, &ctx.team_id, inserts, now));
    stmts.extend(contacts::update_many(style, &ctx.team_id, upserts, now));
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
        let member = segments::memberships_of(app, &old).await?;
        let mut rows: Vec<(&str, &str)> = Vec::new();
        for (contact, _) in touched {
            for segment in &ctx.segments {
                if member.contains(&(contact.clone(), segment.id.clone())) {
                    continue;
                }
                rows.push((&segment.id, contact));
                changes.entry(contact).or_default().0.push(
                    serde_json::json!({"segment_id": segment.id, "segment_name": segment.name}),
                );
            }
        }
        stmts.extend(segments::add_many(style, &rows, now));
    }

    if !ctx.topics.is_empty() {
        let chosen = topics::choices_of(app, &old).await?;
        let mut rows: Vec<(&str, &str, &str)> = Vec::new();
        for (contact, _) in touched {
            for (topic, subscription) in &ctx.topics {
                let before = chosen
                    .get(&(contact.clone(), topic.id.clone()))
                    .unwrap_or(&topic.default_subscription);
                rows.push((contact, &topic.id, subscription));
                if before != subscription {
                    changes.entry(contact).or_default().1.push(serde_json::json!({
                        "topic_id": topic.id, "topic_name": topic.name, "subscription": subscription
                    }));
                }
            }
        }
        stmts.extend(topics::set_many(style, &rows, now));
    }
    let imported: Vec<(&str, Value)> = touched
        .iter()
        .filter_map(|(contact, _)| {
            let (segments, topics) = changes.get(contact.as_str())?;
            let data = serde_json::json!({
                "import_id": ctx.import_id, "segments": segments, "topics": topics
            });
            Some((contact.as_str(), data))
        })
        .collect();
    events.extend(history::imported_many(style, imported, now));
    Ok(stmts)
}
