//! The emails tables. Accepting an email is one transaction: the email, its attachments, its
//! first event, its job (and the idempotency response) commit together or not at all.

use serde_json::json;
use sqlx::FromRow;

use super::attachments::Attachment;
use super::body::Stored;
use super::error::{EmailError, EmailResult};
use super::events;
use super::idempotency::Claim;
use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::queue::{self, NewJob};
use crate::store::BeginWrite;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Placeholders, Stmt, StoreError, StoreResult};

/// An accepted email, ready to insert. Address lists and tags are JSON text.
#[derive(Debug)]
pub struct NewEmail {
    pub id: String,
    pub team_id: String,
    pub api_key_id: Option<String>,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub reply_to: String,
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
    /// `html` and `text` packed and compressed ([`super::body::pack`]); when set, it is
    /// stored (in `email_bodies`) instead of them.
    pub body_zstd: Option<Vec<u8>>,
    pub headers: String,
    pub tags: String,
    pub topic_id: Option<String>,
    /// The template the content was rendered from.
    pub template_id: Option<String>,
    pub scheduled_at: Option<Millis>,
    pub message_id: String,
    pub created_at: Millis,
    pub attachments: Vec<Attachment>,
    /// `SIMULATE_JOB` for test recipients only, `DELIVER_JOB` otherwise.
    pub job_kind: &'static str,
    /// The broadcast (and its contact) this email was sent for.
    pub broadcast_id: Option<String>,
    pub contact_id: Option<String>,
}

impl NewEmail {
    /// Bytes of content the delivery holds: html, text and attachments (see
    /// [`crate::delivery::job::Payload`]).
    pub fn content_bytes(&self) -> usize {
        self.html.as_ref().map_or(0, String::len)
            + self.text.as_ref().map_or(0, String::len)
            + self
                .attachments
                .iter()
                .map(|a| a.content.len())
                .sum::<usize>()
    }

    /// What the `html` and `text` columns hold: nothing when the content is packed.
    fn stored_html(&self) -> Option<&str> {
        self.html.as_deref().filter(|_| self.body_zstd.is_none())
    }

    fn stored_text(&self) -> Option<&str> {
        self.text.as_deref().filter(|_| self.body_zstd.is_none())
    }

    pub fn first_event(&self) -> &'static str {
        if self.scheduled_at.is_some() {
            events::SCHEDULED
        } else {
            events::QUEUED
        }
    }
}

/// The job of an email is found again (cancel, reschedule) by this key.
pub fn job_key(email_id: &str) -> String {
    format!("email:{email_id}")
}

/// What one request accepted: its emails and, when it claimed an idempotency key, the
/// response to remember.
#[derive(Debug)]
pub struct Accepted {
    pub emails: Vec<NewEmail>,
    pub idempotent: Option<(Claim, String)>,
}

/// Whether the email `$1` is stored (a commit in doubt, `store::in_doubt`).
const EMAIL_STORED: &str = "SELECT EXISTS (SELECT 1 FROM emails WHERE id = $1)";

/// Rows per multi-row `INSERT` (SQLite allows 32,766 bound values per statement).
const ROWS_PER_INSERT: usize = 500;

/// Inserts the attachments of `emails`, one statement each (bound, each is a copy of its
/// content), on `executor` (either backend; an open transaction):
/// `insert_attachments!(executor, emails)` gives `Result<(), sqlx::Error>`.
macro_rules! insert_attachments {
    ($executor:expr, $emails:expr) => {
        async {
            for e in $emails {
                for (position, a) in e.attachments.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO email_attachments (id, email_id, position, filename, \
                         content_type, content_id, size, content, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(new_id())
                    .bind(&e.id)
                    .bind(position as i32)
                    .bind(&a.filename)
                    .bind(&a.content_type)
                    .bind(&a.content_id)
                    .bind(a.content.len() as i64)
                    .bind(&a.content[..])
                    .bind(e.created_at)
                    .execute($executor)
                    .await?;
                }
            }
            Ok::<(), sqlx::Error>(())
        }
        .await
    };
}

/// Stores what one or more requests accepted (emails with their attachments, first events
/// and jobs, and idempotency responses) in one transaction. Emails, events and jobs go in
/// multi-row `INSERT`s: a statement is a round trip, and a group may hold hundreds of emails.
pub async fn insert_accepted(app: &App, accepted: &[Accepted]) -> StoreResult<JobRegions> {
    insert_accepted_guarded(app, accepted, std::future::ready(true), &[]).await
}

/// The region given to the job of each email (in the order of the requests' emails):
/// that of its sending domain for a delivery, `None` for a simulated one or a domain
/// without a region. Only a node that serves it claims the job.
pub type JobRegions = Vec<Option<String>>;

/// [`insert_accepted`], committed only once `turn` is ready and with `guard` statements run
/// last in the same transaction. When `turn` gives `false`, or a guard statement does not
/// affect the rows it expects, nothing is stored and the answer is
/// [`StoreError::Conflict`]. The broadcast fan-out moves its cursor this way, so
/// a batch of emails and the progress that covers it commit together; `turn` is the
/// previous batch's outcome, so that on PostgreSQL a batch is written while the one before
/// it commits, and its guard is checked only after that commit. (On SQLite the open write
/// transaction holds the one write lock: `turn` must be ready when the transaction starts.)
pub async fn insert_accepted_guarded(
    app: &App,
    accepted: &[Accepted],
    turn: impl std::future::Future<Output = bool>,
    guard: &[Stmt],
) -> StoreResult<JobRegions> {
    let emails: Vec<&NewEmail> = accepted.iter().flat_map(|a| &a.emails).collect();
    let style = Placeholders::of(app.db());
    // A delivery runs in the region (sending pool) of its sending domain, looked up once per
    // team and domain in the transaction below (a fan-out batch has one).
    let (senders, of_email) = sending_domains(&emails);
    let mut jobs: Vec<NewJob> = emails
        .iter()
        .map(|e| {
            NewJob::new(
                e.job_kind,
                &json!({
                    "email_id": e.id,
                    "bytes": e.content_bytes(),
                    "attachments": e.attachments.len(),
                }),
                e.scheduled_at.unwrap_or(e.created_at),
            )
            .unique_key(job_key(&e.id))
        })
        .collect();
    let first_events: Vec<events::NewEvent> = emails
        .iter()
        .map(|e| events::NewEvent {
            email_id: &e.id,
            team_id: &e.team_id,
            kind: e.first_event(),
            recipient: None,
            data: "{}",
            at: e.created_at,
        })
        .collect();
    let now = emails
        .iter()
        .map(|e| e.created_at)
        .max()
        .unwrap_or_default();
    let mut stmts = events::record(style, &first_events, events::LastEvent::Inserted);
    let mut regions = Vec::with_capacity(senders.len());
    for (team_id, domain) in &senders {
        regions.push(crate::domains::reads::region(app, team_id, domain).await?);
    }
    for (job, sender) in jobs.iter_mut().zip(&of_email) {
        job.region = sender.and_then(|at| regions[at].clone());
    }
    stmts.extend(queue::insert(style, &jobs, now));
    match app.db() {
        crate::store::Db::Sqlite(pool) => {
            insert_sqlite(pool, &emails, &stmts, accepted, turn, guard).await?
        }
        crate::store::Db::Postgres(pool) => {
            let mut tx = pool.begin_write().await?;
            tx.insert_emails(&emails).await?;
            // Their first events and jobs.
            crate::exec_stmts!(tx, &stmts)?;
            insert_attachments!(&mut *tx, &emails)?;
            for (claim, body) in accepted.iter().filter_map(|a| a.idempotent.as_ref()) {
                sqlx::query(
                    "UPDATE idempotency_keys SET response_status = 200, response_body = $3 \
                     WHERE team_id = $1 AND key = $2",
                )
                .bind(&claim.team_id)
                .bind(&claim.key)
                .bind(body)
                .execute(&mut *tx)
                .await?;
            }
            if !turn.await || crate::exec_stmts!(tx, guard)?.is_none() {
                tx.rollback().await?;
                return Err(sql::conflict());
            }
            match emails.first() {
                // A commit whose answer is lost counts once its first email is found.
                Some(first) => {
                    crate::store::in_doubt::commit(tx, pool, EMAIL_STORED, &first.id).await?
                }
                None => tx.commit().await?,
            }
        }
    }
    Ok(jobs.into_iter().map(|job| job.region).collect())
}

/// SQLite: the transaction's writes — `BEGIN IMMEDIATE`, the emails, `stmts` (first events
/// and jobs), idempotency responses and, without a guard or attachments, `COMMIT` — go to
/// the connection as one multi-statement query ([`sql::Trips`]). A statement is a hand-over
/// to the connection's own thread and back, the largest cost of a small accept, so a single
/// send makes one instead of seven. Attachments, then the guard's statements once `turn` is
/// ready, and the `COMMIT` follow on the same connection. Any failure rolls the transaction
/// back before the connection goes back to the pool.
async fn insert_sqlite(
    pool: &sqlx::SqlitePool,
    emails: &[&NewEmail],
    stmts: &[Stmt],
    accepted: &[Accepted],
    turn: impl std::future::Future<Output = bool>,
    guard: &[Stmt],
) -> StoreResult<()> {
    let columns = INSERT_COLUMNS.split(',').count();
    let row = format!("({})", vec!["?"; columns].join(", "));
    let mut trips = sql::Trips::default();
    trips.push("BEGIN IMMEDIATE");
    for chunk in emails.chunks(ROWS_PER_INSERT) {
        let rows = vec![row.as_str(); chunk.len()].join(", ");
        trips.push(&format!(
            "INSERT INTO emails ({INSERT_COLUMNS}) VALUES {rows}"
        ));
        for e in chunk {
            trips.args(|q| {
                q.bind(&e.id)
                    .bind(&e.team_id)
                    .bind(&e.api_key_id)
                    .bind(&e.from)
                    .bind(&e.to)
                    .bind(&e.cc)
                    .bind(&e.bcc)
                    .bind(&e.reply_to)
                    .bind(&e.subject)
                    .bind(e.stored_html())
                    .bind(e.stored_text())
                    .bind(&e.headers)
                    .bind(&e.tags)
                    .bind(&e.topic_id)
                    .bind(&e.template_id)
                    .bind(e.scheduled_at)
                    .bind(e.first_event())
                    .bind(&e.message_id)
                    .bind(e.created_at)
                    .bind(e.created_at)
                    .bind(&e.broadcast_id)
                    .bind(&e.contact_id)
            });
        }
    }
    let packed: Vec<(&str, &[u8])> = packed_bodies(emails).collect();
    for chunk in packed.chunks(ROWS_PER_INSERT) {
        let rows = vec!["(?, ?)"; chunk.len()].join(", ");
        trips.push(&format!(
            "INSERT INTO email_bodies (email_id, body_zstd) VALUES {rows}"
        ));
        for (id, body) in chunk {
            trips.args(|q| q.bind(*id).bind(*body));
        }
    }
    // Their first events and jobs.
    for stmt in stmts {
        trips.stmt(stmt);
    }
    for (claim, body) in accepted.iter().filter_map(|a| a.idempotent.as_ref()) {
        trips
            .push(
                "UPDATE idempotency_keys SET response_status = 200, response_body = ? \
                 WHERE team_id = ? AND key = ?",
            )
            .args(|q| q.bind(body).bind(&claim.team_id).bind(&claim.key));
    }
    // Attachments go one statement each after the trip: bound, each is a copy of its
    // content, and a group's attachments together could be hundreds of megabytes.
    let attachments = emails.iter().any(|e| !e.attachments.is_empty());
    let one_trip = guard.is_empty() && !attachments;
    if one_trip {
        trips.push("COMMIT");
    }
    let mut turn = Some(turn);
    let mut conn = OpenWrite(Some(pool.acquire().await?));
    let outcome = async {
        if guard.is_empty() && !turn.take().expect("the turn").await {
            return Err(sql::conflict());
        }
        trips.run(conn.get()).await?;
        if one_trip {
            return Ok(());
        }
        insert_attachments!(conn.get(), emails)?;
        if let Some(turn) = turn.take() {
            let tx = conn.get();
            if !turn.await || crate::exec_stmts!(tx, guard)?.is_none() {
                return Err(sql::conflict());
            }
        }
        sqlx::query("COMMIT").execute(conn.get()).await?;
        Ok(())
    }
    .await;
    if outcome.is_err() {
        // Undo what ran before the failure ("no transaction is active" when it ended it).
        let _ = sqlx::query("ROLLBACK").execute(conn.get()).await;
    }
    conn.finish();
    outcome
}

/// A SQLite connection inside a transaction its pool does not know about (begun by a
/// statement, not by sqlx): dropped before [`OpenWrite::finish`] (the task was cancelled),
/// it is closed rather than given back to the pool mid-transaction, which rolls it back.
struct OpenWrite(Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>);

impl OpenWrite {
    fn get(&mut self) -> &mut sqlx::SqliteConnection {
        self.0.as_mut().expect("an open write until finish")
    }

    /// The transaction has ended (committed or rolled back): back to the pool.
    fn finish(mut self) {
        self.0.take();
    }
}

impl Drop for OpenWrite {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// The distinct (team, sending domain) pairs of the emails that are delivered (not
/// simulated), and for each email the index of its pair. Each distinct `from` is parsed once
/// (a fan-out batch has one for all its emails).
fn sending_domains<'a>(emails: &[&'a NewEmail]) -> (Vec<(&'a str, String)>, Vec<Option<usize>>) {
    let mut senders: Vec<(&str, String)> = Vec::new();
    let mut parsed: std::collections::HashMap<(&str, &str), Option<usize>> = Default::default();
    let of_email = emails
        .iter()
        .map(|e| {
            if e.job_kind != super::DELIVER_JOB {
                return None;
            }
            *parsed
                .entry((e.team_id.as_str(), e.from.as_str()))
                .or_insert_with(|| {
                    let domain = super::address::Mailbox::parse(&e.from)
                        .ok()?
                        .domain()
                        .to_string();
                    let pair = (e.team_id.as_str(), domain);
                    Some(senders.iter().position(|s| *s == pair).unwrap_or_else(|| {
                        senders.push(pair);
                        senders.len() - 1
                    }))
                })
        })
        .collect();
    (senders, of_email)
}

/// The `email_bodies` rows of `emails`: those whose content is packed.
fn packed_bodies<'a>(emails: &[&'a NewEmail]) -> impl Iterator<Item = (&'a str, &'a [u8])> {
    emails
        .iter()
        .filter_map(|e| Some((e.id.as_str(), e.body_zstd.as_deref()?)))
}

/// The `emails` columns an insert writes, in the order both backends bind them.
const INSERT_COLUMNS: &str = "id, team_id, api_key_id, from_address, to_addresses, cc_addresses, \
     bcc_addresses, reply_to, subject, html, text, headers, tags, topic_id, template_id, \
     scheduled_at, last_event, message_id, created_at, updated_at, broadcast_id, contact_id";

/// Inserting email rows in the caller's open transaction, the way each backend takes many
/// rows best.
trait InsertEmails {
    async fn insert_emails(&mut self, emails: &[&NewEmail]) -> Result<(), sqlx::Error>;
}

/// PostgreSQL: one statement over one array per column, whatever the number of rows. Its
/// text never changes, so it is prepared once and planned in microseconds, where a
/// `VALUES` list of 11,000 parameters is parsed and planned for every statement. The arrays
/// borrow the emails' strings (the html is not copied).
impl InsertEmails for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn insert_emails(&mut self, emails: &[&NewEmail]) -> Result<(), sqlx::Error> {
        if emails.is_empty() {
            return Ok(());
        }
        fn texts<'a>(emails: &[&'a NewEmail], f: impl Fn(&'a NewEmail) -> &'a str) -> Vec<&'a str> {
            emails.iter().map(|e| f(e)).collect()
        }
        fn opt_texts<'a>(
            emails: &[&'a NewEmail],
            f: impl Fn(&'a NewEmail) -> Option<&'a str>,
        ) -> Vec<Option<&'a str>> {
            emails.iter().map(|e| f(e)).collect()
        }
        let created: Vec<i64> = emails.iter().map(|e| e.created_at).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO emails ({INSERT_COLUMNS}) SELECT * FROM UNNEST($1::text[], \
             $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], \
             $14::text[], $15::text[], $16::int8[], $17::text[], $18::text[], $19::int8[], \
             $19::int8[], $20::text[], $21::text[])"
        )))
        .bind(texts(emails, |e| &e.id))
        .bind(texts(emails, |e| &e.team_id))
        .bind(opt_texts(emails, |e| e.api_key_id.as_deref()))
        .bind(texts(emails, |e| &e.from))
        .bind(texts(emails, |e| &e.to))
        .bind(texts(emails, |e| &e.cc))
        .bind(texts(emails, |e| &e.bcc))
        .bind(texts(emails, |e| &e.reply_to))
        .bind(texts(emails, |e| &e.subject))
        .bind(opt_texts(emails, NewEmail::stored_html))
        .bind(opt_texts(emails, NewEmail::stored_text))
        .bind(texts(emails, |e| &e.headers))
        .bind(texts(emails, |e| &e.tags))
        .bind(opt_texts(emails, |e| e.topic_id.as_deref()))
        .bind(opt_texts(emails, |e| e.template_id.as_deref()))
        .bind(emails.iter().map(|e| e.scheduled_at).collect::<Vec<_>>())
        .bind(texts(emails, |e| e.first_event()))
        .bind(texts(emails, |e| &e.message_id))
        .bind(created)
        .bind(opt_texts(emails, |e| e.broadcast_id.as_deref()))
        .bind(opt_texts(emails, |e| e.contact_id.as_deref()))
        .execute(&mut **self)
        .await?;
        let packed: Vec<(&str, &[u8])> = packed_bodies(emails).collect();
        if !packed.is_empty() {
            sqlx::query(
                "INSERT INTO email_bodies (email_id, body_zstd) \
                 SELECT * FROM UNNEST($1::text[], $2::bytea[])",
            )
            .bind(packed.iter().map(|p| p.0).collect::<Vec<_>>())
            .bind(packed.iter().map(|p| p.1).collect::<Vec<_>>())
            .execute(&mut **self)
            .await?;
        }
        Ok(())
    }
}

/// A stored email. `html` and `text` stay `None` in lists, which do not load them.
#[derive(Debug, Clone, FromRow)]
pub struct EmailRow {
    pub id: String,
    pub from_address: String,
    pub to_addresses: String,
    pub cc_addresses: String,
    pub bcc_addresses: String,
    pub reply_to: String,
    pub subject: String,
    #[sqlx(default)]
    pub html: Option<String>,
    #[sqlx(default)]
    pub text: Option<String>,
    pub tags: String,
    /// JSON array of `{name, value}` custom headers; loaded by [`get`] only.
    #[sqlx(default)]
    pub headers: Option<String>,
    pub topic_id: Option<String>,
    pub scheduled_at: Option<i64>,
    pub last_event: String,
    pub message_id: String,
    pub created_at: i64,
}

pub(super) const LIST_COLUMNS: &str = "id, from_address, to_addresses, cc_addresses, bcc_addresses, \
                            reply_to, subject, tags, topic_id, scheduled_at, last_event, \
                            message_id, created_at";

pub async fn get(app: &App, team_id: &str, id: &str) -> EmailResult<EmailRow> {
    let sql = format!(
        "SELECT {LIST_COLUMNS}, html, text, body_zstd, headers FROM emails \
         LEFT JOIN email_bodies ON email_id = id WHERE id = $1 AND team_id = $2"
    );
    let found = on_db!(app.db(), |pool| {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(team_id)
            .fetch_optional(pool)
            .await?;
        row.map(|row| Ok::<_, sqlx::Error>((EmailRow::from_row(&row)?, Stored::from_row(&row)?)))
            .transpose()?
    });
    let (mut row, stored) = found.ok_or(EmailError::NotFound)?;
    (row.html, row.text) = stored.content()?;
    row.fill_generated_text();
    Ok(row)
}

/// The team's emails, newest first (see [`super::search::list`] for filters).
pub async fn list(app: &App, team_id: &str, page: &Page) -> EmailResult<ListResponse<EmailRow>> {
    super::search::list(app, team_id, page, &super::search::EmailFilter::default()).await
}

impl EmailRow {
    /// Fills `text` from the html when only html was given (that text is not stored, see
    /// [`super::validate::text_from_html`]).
    pub fn fill_generated_text(&mut self) {
        if self.text.is_none() {
            self.text = self.text_or_generated();
        }
    }

    /// The text part: the one given, else the one generated from the html.
    pub fn text_or_generated(&self) -> Option<String> {
        super::validate::text_part(self.text.as_deref(), self.html.as_deref())
    }

    /// The custom headers as (name, value) pairs, in the order given.
    pub fn custom_headers(&self) -> Vec<(String, String)> {
        let items: Vec<serde_json::Value> = self
            .headers
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok())
            .unwrap_or_default();
        items
            .iter()
            .filter_map(|h| Some((h["name"].as_str()?.into(), h["value"].as_str()?.into())))
            .collect()
    }

    /// The tags as (name, value) pairs; a tag without a value has "".
    pub fn tag_pairs(&self) -> Vec<(String, String)> {
        let items: Vec<serde_json::Value> = serde_json::from_str(&self.tags).unwrap_or_default();
        items
            .iter()
            .filter_map(|t| {
                let name = t["name"].as_str()?.to_string();
                Some((name, t["value"].as_str().unwrap_or("").to_string()))
            })
            .collect()
    }
}

/// A JSON list of addresses (`to`, `cc`, `bcc`, `reply_to` columns) as strings.
pub fn addresses(json_text: &str) -> Vec<String> {
    serde_json::from_str(json_text).unwrap_or_default()
}

/// The job state of an email's job (`None` if it has none).
pub async fn job_state(app: &App, email_id: &str) -> EmailResult<Option<(String, Millis)>> {
    Ok(queue::state_by_key(app.db(), &job_key(email_id)).await?)
}

/// Why a scheduled email cannot be changed any more.
fn not_changeable(row: &EmailRow, action: &str) -> EmailError {
    let message = match row.last_event.as_str() {
        events::CANCELED => {
            format!("This email was canceled; a canceled email cannot be {action}.")
        }
        _ if row.scheduled_at.is_none() => {
            format!("Only scheduled emails can be {action}; this one was sent right away.")
        }
        _ => format!("This email is already being sent and can no longer be {action}."),
    };
    EmailError::Invalid(message)
}

/// Moves a scheduled email, and its job, to `at`.
pub async fn reschedule(app: &App, team_id: &str, id: &str, at: Millis) -> EmailResult<()> {
    let row = get(app, team_id, id).await?;
    let now = app.now_ms();
    let stmts = [
        queue::reschedule_by_key(&job_key(id), at, now).expect_rows(1),
        Stmt::new(
            "UPDATE emails SET scheduled_at = $3, updated_at = $4 \
             WHERE id = $1 AND team_id = $2 AND last_event = 'scheduled'",
        )
        .text(id)
        .text(team_id)
        .int(at)
        .int(now)
        .expect_rows(1),
    ];
    sql::run(app.db(), &stmts)
        .await
        .map_err(|e| changed_meanwhile(e, &row, "rescheduled"))?;
    Ok(())
}

/// Cancels a scheduled email: its job will not run, its last event becomes `canceled`.
pub async fn cancel(app: &App, team_id: &str, id: &str) -> EmailResult<()> {
    let row = get(app, team_id, id).await?;
    let now = app.now_ms();
    let mut stmts = vec![
        queue::cancel_by_key(&job_key(id), now).expect_rows(1),
        Stmt::new(
            "UPDATE emails SET updated_at = $3 \
             WHERE id = $1 AND team_id = $2 AND last_event = 'scheduled'",
        )
        .text(id)
        .text(team_id)
        .int(now)
        .expect_rows(1),
    ];
    let canceled = events::NewEvent {
        email_id: id,
        team_id,
        kind: events::CANCELED,
        recipient: None,
        data: "{}",
        at: now,
    };
    stmts.extend(events::record(
        Placeholders::of(app.db()),
        &[canceled],
        events::LastEvent::Update(now),
    ));
    sql::run(app.db(), &stmts)
        .await
        .map_err(|e| changed_meanwhile(e, &row, "canceled"))?;
    Ok(())
}

/// A statement list's conflict means the email's job started (or it was canceled) meanwhile.
fn changed_meanwhile(err: StoreError, row: &EmailRow, action: &str) -> EmailError {
    if sql::is_conflict(&err) {
        not_changeable(row, action)
    } else {
        err.into()
    }
}

/// Attachment metadata (the content is only read for downloads).
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub id: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub content_id: Option<String>,
    pub size: i64,
}

const ATTACHMENT_COLUMNS: &str = "a.id, a.filename, a.content_type, a.content_id, a.size";

/// The attachments of an email of the team, in the order they were given.
pub async fn list_attachments(
    app: &App,
    team_id: &str,
    email_id: &str,
) -> EmailResult<Vec<AttachmentRow>> {
    let rows = on_db!(app.db(), |pool| sqlx::query_as::<_, AttachmentRow>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM email_attachments a JOIN emails e \
             ON e.id = a.email_id WHERE a.email_id = $1 AND e.team_id = $2 ORDER BY a.position"
        ))
    )
    .bind(email_id)
    .bind(team_id)
    .fetch_all(pool)
    .await)?;
    if rows.is_empty() {
        // Tell "no attachments" from "no such email".
        get(app, team_id, email_id).await?;
    }
    Ok(rows)
}

pub async fn get_attachment(
    app: &App,
    team_id: &str,
    email_id: &str,
    attachment_id: &str,
) -> EmailResult<AttachmentRow> {
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, AttachmentRow>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM email_attachments a JOIN emails e \
             ON e.id = a.email_id WHERE a.id = $1 AND a.email_id = $2 AND e.team_id = $3"
        ))
    )
    .bind(attachment_id)
    .bind(email_id)
    .bind(team_id)
    .fetch_optional(pool)
    .await)?;
    row.ok_or(EmailError::AttachmentNotFound)
}

/// An attachment with its bytes, by id alone (the caller checked a signed link).
pub async fn attachment_content(
    app: &App,
    attachment_id: &str,
) -> EmailResult<(AttachmentRow, Vec<u8>)> {
    #[derive(FromRow)]
    struct Full {
        #[sqlx(flatten)]
        meta: AttachmentRow,
        content: Vec<u8>,
    }
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, Full>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {ATTACHMENT_COLUMNS}, a.content FROM email_attachments a WHERE a.id = $1"
        ))
    )
    .bind(attachment_id)
    .fetch_optional(pool)
    .await)?;
    let row = row.ok_or(EmailError::AttachmentNotFound)?;
    Ok((row.meta, row.content))
}
