//! The fan-out job: one email per eligible contact of a sent broadcast.
//!
//! Eligible: in the broadcast's segment since before the send started (`snapshot_at`: who
//! joins later is not sent to), not unsubscribed, not on the team's suppression list, and,
//! for a broadcast scoped to a topic, not opted out of it (the topic's default applies when
//! the contact made no choice). One query per batch finds them, in contact id order from
//! the `cursor`; the batch's emails (with their delivery jobs, through the emails' store)
//! and the cursor's move commit in one transaction, guarded by the cursor's previous value.
//! So a run stopped at any point (crash, `kill -9`, lease taken over by another node)
//! resumes after the last committed batch: no contact is skipped or sent twice. On
//! PostgreSQL two batches are written at once, each in its own transaction: the second
//! inserts its rows while the first commits and moves the cursor only after that commit
//! (a refused first batch refuses the second). Memory is a few batches; the segment is
//! never loaded whole.
//!
//! A run works for [`SLICE`] at most and then puts itself back in the queue, so a long
//! fan-out never outlives its lease.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use sqlx::FromRow;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::content::{ContactValues, Prepared, Properties};
use super::unsubscribe::{self, Subscriber};
use super::{Broadcast, Status, store};
use crate::audience::{properties, segments};
use crate::emails::address::Mailbox;
use crate::emails::store::{Accepted, NewEmail};
use crate::emails::test_recipients;
use crate::handle::App;
use crate::queue::{Job, NewJob, RetryAt};
use crate::store::new_id;
use crate::store::sql::{self, Stmt};

/// Job kind; its unique key is [`job_key`].
pub const JOB: &str = "broadcast_fanout";

/// Contacts per transaction.
pub const BATCH: i64 = 1000;

/// How long one run works before it re-queues itself.
const SLICE: Duration = Duration::from_secs(60);

pub fn job_key(broadcast_id: &str) -> String {
    format!("broadcast:{broadcast_id}")
}

/// The fan-out job of a broadcast, due at `run_at`.
pub fn job(broadcast_id: &str, run_at: i64) -> NewJob {
    let mut job = NewJob::new(JOB, &json!({ "broadcast_id": broadcast_id }), run_at)
        .unique_key(job_key(broadcast_id));
    job.max_attempts = 50;
    job
}

#[derive(Deserialize)]
struct Payload {
    broadcast_id: String,
}

#[derive(FromRow)]
struct Progress {
    snapshot_at: Option<i64>,
    cursor: Option<String>,
}

struct ContactRow {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    properties: String,
}

/// One member of the segment after the cursor; the contact's fields are there only when it
/// is eligible.
#[derive(FromRow)]
struct PageRow {
    member_id: String,
    id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    properties: Option<String>,
}

impl PageRow {
    fn into_eligible(self) -> Option<ContactRow> {
        Some(ContactRow {
            id: self.id?,
            email: self.email?,
            first_name: self.first_name,
            last_name: self.last_name,
            properties: self.properties?,
        })
    }
}

pub async fn run_job(app: &App, job: &Job) -> anyhow::Result<()> {
    let Payload { broadcast_id } = job.payload()?;
    let Some(b) = store::by_id(app, &broadcast_id).await? else {
        return Ok(());
    };
    if matches!(b.status(), Status::Canceled | Status::Sent) {
        return Ok(());
    }
    let now = app.now_ms();
    if b.status() != Status::Sending {
        store::start_sending(app, &b.id, now).await?;
    }
    let progress: Option<(Progress, String)> =
        store::progress(app, &b.id)
            .await?
            .map(|(snapshot_at, cursor, status)| {
                (
                    Progress {
                        snapshot_at,
                        cursor,
                    },
                    status,
                )
            });
    let Some((progress, status)) = progress else {
        return Ok(());
    };
    if status != Status::Sending.as_str() {
        return Ok(());
    }
    let snapshot_at = progress.snapshot_at.unwrap_or(now);
    let mut cursor = progress.cursor.unwrap_or_default();

    let plan = Plan::new(app, &b).await?;
    let started = Instant::now();
    // Batches being written, oldest first. On PostgreSQL a batch is written while the one
    // before it commits (each waits for that commit before moving the cursor); SQLite has
    // one writer, so there a batch is written while the next is read.
    let depth = if app.db().is_postgres() { 2 } else { 1 };
    let mut writes = VecDeque::new();
    let mut turn = None;
    let outcome = async {
        let mut batch = Batch::next(app, &b, &plan, &cursor, snapshot_at).await?;
        loop {
            let Some(last) = batch.last.take() else {
                return Ok(true);
            };
            while writes.len() >= depth {
                settle(app, writes.pop_front()).await?;
            }
            let guard = store::move_cursor(
                &b.id,
                (&cursor, &last),
                batch.emails.len() as i64,
                app.now_ms(),
            );
            writes.push_back(write(
                app,
                std::mem::take(&mut batch.emails),
                guard,
                &mut turn,
            ));
            cursor = last;
            if !batch.full {
                return Ok(true);
            }
            if started.elapsed() > SLICE {
                return Ok(false);
            }
            batch = Batch::next(app, &b, &plan, &cursor, snapshot_at).await?;
        }
    }
    .await;
    // Every write this run started ends (committed or refused) before the run does; the
    // first failure is the run's.
    let mut outcome: anyhow::Result<bool> = outcome;
    while !writes.is_empty() {
        let settled = settle(app, writes.pop_front()).await;
        if let (Ok(_), Err(err)) = (&outcome, settled) {
            outcome = Err(err);
        }
    }
    if outcome? {
        finish(app, &b.id).await
    } else {
        Err(RetryAt {
            at: app.now_ms(),
            reason: "continuing the fan-out in a new run".into(),
        }
        .into())
    }
}

/// Writes a batch's emails and moves the cursor with `guard` in one transaction, in a task
/// of its own, committing only after the previous write (`turn`) committed.
fn write(
    app: &App,
    emails: Vec<NewEmail>,
    guard: Stmt,
    turn: &mut Option<oneshot::Receiver<bool>>,
) -> JoinHandle<sql::StoreResult<()>> {
    let (done, next_turn) = oneshot::channel();
    let previous = turn.replace(next_turn);
    let app = app.clone();
    tokio::spawn(async move {
        let my_turn = async move {
            match previous {
                Some(previous) => previous.await.unwrap_or(false),
                None => true,
            }
        };
        let accepted = [Accepted {
            emails,
            idempotent: None,
        }];
        let stored =
            crate::emails::store::insert_accepted_guarded(&app, &accepted, my_turn, &[guard])
                .await
                .map(drop);
        let _ = done.send(stored.is_ok());
        stored
    })
}

/// Waits for a write: committed, its emails are due for delivery; refused because the
/// broadcast was canceled or another run moved the cursor, the run looks again shortly.
async fn settle(app: &App, write: Option<JoinHandle<sql::StoreResult<()>>>) -> anyhow::Result<()> {
    let Some(write) = write else {
        return Ok(());
    };
    match write.await? {
        Ok(()) => {
            app.notify_job_kinds([crate::emails::DELIVER_JOB, crate::emails::SIMULATE_JOB]);
            Ok(())
        }
        Err(err) if sql::is_conflict(&err) => Err(RetryAt {
            at: app.now_ms() + 5_000,
            reason: "the broadcast's progress moved under this run".into(),
        }
        .into()),
        Err(err) => Err(err.into()),
    }
}

/// The emails of the next [`BATCH`] members of the segment after a cursor.
#[derive(Default)]
struct Batch {
    /// The last member read (the cursor's next value); `None` when the segment is done.
    last: Option<String>,
    /// A whole page was read: there may be more after `last`.
    full: bool,
    /// One email per eligible member.
    emails: Vec<NewEmail>,
}

impl Batch {
    async fn next(
        app: &App,
        b: &Broadcast,
        plan: &Plan,
        cursor: &str,
        snapshot_at: i64,
    ) -> anyhow::Result<Batch> {
        let page = next_page(app, b, plan, cursor, snapshot_at).await?;
        Ok(Batch {
            last: page.last().map(|row| row.member_id.clone()),
            full: page.len() as i64 == BATCH,
            emails: page
                .into_iter()
                .filter_map(PageRow::into_eligible)
                .map(|c| plan.email(app, b, &c))
                .collect(),
        })
    }
}

async fn finish(app: &App, id: &str) -> anyhow::Result<()> {
    let now = app.now_ms();
    store::mark_sent(app, id, now).await?;
    Ok(())
}

/// What stays the same for every contact of a broadcast.
struct Plan {
    prepared: Prepared,
    properties: Properties,
    /// The topic and its default subscription, when the broadcast is scoped to one.
    topic: Option<(String, String)>,
    domain: String,
    link_base: String,
}

impl Plan {
    async fn new(app: &App, b: &Broadcast) -> anyhow::Result<Plan> {
        let properties = Properties::of(&properties::all(app, &b.team_id).await?);
        let topic = match &b.topic_id {
            Some(id) => Some((
                id.clone(),
                crate::audience::topics::find(app, &b.team_id, id)
                    .await?
                    .map(|t| t.default_subscription)
                    .unwrap_or_else(|| crate::audience::topics::OPT_IN.to_string()),
            )),
            None => None,
        };
        let domain = Mailbox::parse(&b.from)
            .map(|m| m.domain().to_string())
            .map_err(|why| anyhow::anyhow!("broadcast {}: bad from: {why}", b.id))?;
        let link_base = crate::domains::reads::link_base(app, &b.team_id, &domain).await?;
        Ok(Plan {
            prepared: Prepared::of(b),
            properties,
            topic,
            domain,
            link_base,
        })
    }

    fn email(&self, app: &App, b: &Broadcast, c: &ContactRow) -> NewEmail {
        let url = unsubscribe::url(
            &self.link_base,
            app.secret_key(),
            &Subscriber {
                team_id: b.team_id.clone(),
                contact_id: c.id.clone(),
                broadcast_id: Some(b.id.clone()),
                topic_id: b.topic_id.clone(),
            },
        );
        let values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&c.properties).unwrap_or_default();
        let rendered = self.prepared.render(&ContactValues {
            email: &c.email,
            first_name: c.first_name.as_deref(),
            last_name: c.last_name.as_deref(),
            values: &values,
            unsubscribe_url: &url,
            properties: &self.properties,
        });
        let headers: Vec<serde_json::Value> = unsubscribe::headers(&url)
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        let id = new_id();
        let test_only = test_recipients::outcome(&c.email.to_lowercase()).is_some();
        let body_zstd = crate::emails::body::pack(rendered.html.as_deref(), Some(&rendered.text));
        NewEmail {
            message_id: format!("<{id}@{}>", self.domain),
            id,
            team_id: b.team_id.clone(),
            api_key_id: None,
            from: b.from.clone(),
            to: json!([c.email]).to_string(),
            cc: "[]".into(),
            bcc: "[]".into(),
            reply_to: b.reply_to.clone(),
            subject: rendered.subject,
            html: rendered.html,
            text: Some(rendered.text),
            body_zstd,
            headers: serde_json::Value::Array(headers).to_string(),
            tags: "[]".into(),
            topic_id: b.topic_id.clone(),
            template_id: None,
            scheduled_at: None,
            created_at: app.now_ms(),
            attachments: Vec::new(),
            job_kind: if test_only {
                crate::emails::SIMULATE_JOB
            } else {
                crate::emails::DELIVER_JOB
            },
            broadcast_id: Some(b.id.clone()),
            contact_id: Some(c.id.clone()),
        }
    }
}

/// The next [`BATCH`] members of the segment after `cursor`, in contact id order, each with
/// its contact when eligible (`audience::segments::sendable_page`). The cursor moves past
/// ineligible members too.
async fn next_page(
    app: &App,
    b: &Broadcast,
    plan: &Plan,
    cursor: &str,
    snapshot_at: i64,
) -> anyhow::Result<Vec<PageRow>> {
    let page = segments::Sendable {
        team_id: &b.team_id,
        segment_id: b.segment_id.as_deref().unwrap_or_default(),
        after: cursor,
        joined_by: snapshot_at,
        topic: plan
            .topic
            .as_ref()
            .map(|(id, default)| (id.as_str(), default.as_str())),
        limit: BATCH,
    };
    Ok(segments::sendable_page(app, &page).await?)
}
