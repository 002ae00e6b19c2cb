//! Domains: the sending domains of a team, their DKIM keys, the DNS records their owners
//! publish, and the background verification that reads those records from real DNS.
//! The API (`api::domains`) and the dashboard call these functions.
//!
//! A domain's region is fixed at creation: it decides which nodes deliver its mail. To move
//! a domain, delete it and add it again (or use one subdomain per region).

pub mod bimi;
pub mod bimi_logo;
pub mod dkim_keys;
pub mod dmarc;
pub mod dns;
pub mod error;
pub mod events;
pub mod job;
pub mod names;
pub mod reads;
pub mod records;
pub mod report;
pub mod status;
pub mod tags;
pub mod verify;

use std::collections::HashMap;

use sqlx::FromRow;

use crate::handle::App;
use crate::on_db;
use crate::store::BeginWrite;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{Arg, Stmt};
pub use error::{DomainError, DomainResult};
use records::{Expected, RecordKey};
use report::AuthReport;

/// Job kind of the verification runs.
pub const VERIFY_JOB: &str = "verify_domain";

#[derive(Debug, Clone, FromRow)]
pub struct Domain {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub status: String,
    pub region: String,
    pub created_at: i64,
    pub custom_return_path: String,
    pub open_tracking: bool,
    pub click_tracking: bool,
    pub tls: String,
    pub sending: String,
    pub receiving: String,
    pub tracking_subdomain: Option<String>,
    pub dkim_selector: String,
    pub dkim_public_key: String,
    pub verify_started_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub checked_at: Option<i64>,
    pub check_token: Option<String>,
    pub auth_report: Option<String>,
}

const COLUMNS: &str = "id, team_id, name, status, region, created_at, custom_return_path, \
    open_tracking, click_tracking, tls, sending, receiving, tracking_subdomain, dkim_selector, \
    dkim_public_key, verify_started_at, failing_since, checked_at, check_token, auth_report";

/// The settings an owner may change, in the order [`Domain::settings`] gives them: the
/// create and the update write them the one way.
const SETTINGS: &str = "open_tracking, click_tracking, tls, sending, receiving, tracking_subdomain";

impl Domain {
    /// The values of [`SETTINGS`], to bind.
    fn settings(&self) -> [Arg; 6] {
        [
            Arg::Bool(self.open_tracking),
            Arg::Bool(self.click_tracking),
            Arg::Text(Some(self.tls.clone())),
            Arg::Text(Some(self.sending.clone())),
            Arg::Text(Some(self.receiving.clone())),
            Arg::Text(self.tracking_subdomain.clone()),
        ]
    }

    /// The DMARC/BIMI report of the last verification run, if any.
    pub fn auth_report(&self) -> Option<AuthReport> {
        serde_json::from_str(self.auth_report.as_deref()?).ok()
    }
}

/// Fields a caller may set. `None` means "not given".
#[derive(Debug, Default, Clone)]
pub struct DomainInput {
    pub name: Option<String>,
    pub region: Option<String>,
    pub custom_return_path: Option<String>,
    pub open_tracking: Option<bool>,
    pub click_tracking: Option<bool>,
    pub tls: Option<String>,
    pub sending: Option<String>,
    pub receiving: Option<String>,
    /// `Some(None)` (or an empty string) removes the tracking subdomain.
    pub tracking_subdomain: Option<Option<String>>,
}

/// A record to publish with what verification found.
#[derive(Debug, Clone)]
pub struct RecordState {
    pub expected: Expected,
    pub status: String,
    /// Why it is not verified, in plain words.
    pub message: Option<String>,
    /// What DNS returned at its name on the last check.
    pub found: Vec<String>,
}

/// Applies the optional settings of `input` to `domain`, validating each.
fn apply_settings(domain: &mut Domain, input: &DomainInput) -> DomainResult<()> {
    if let Some(v) = input.open_tracking {
        domain.open_tracking = v;
    }
    if let Some(v) = input.click_tracking {
        domain.click_tracking = v;
    }
    if let Some(v) = &input.tls {
        domain.tls = names::tls(v)?;
    }
    if let Some(v) = &input.sending {
        domain.sending = names::capability("sending", v)?;
    }
    if let Some(v) = &input.receiving {
        domain.receiving = names::capability("receiving", v)?;
    }
    if domain.sending == "disabled" && domain.receiving == "disabled" {
        return Err(DomainError::Invalid(
            "At least one of `capabilities.sending` and `capabilities.receiving` must be \
             `enabled`."
                .into(),
        ));
    }
    if let Some(v) = &input.tracking_subdomain {
        domain.tracking_subdomain = match v.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(label) => Some(names::subdomain_label("tracking_subdomain", label)?),
        };
    }
    if domain.tracking_subdomain.as_deref() == Some(domain.custom_return_path.as_str()) {
        return Err(DomainError::Invalid(format!(
            "The `tracking_subdomain` must differ from the return path `{}`: both need their \
             own DNS records.",
            domain.custom_return_path
        )));
    }
    Ok(())
}

pub async fn create(app: &App, team_id: &str, input: DomainInput) -> DomainResult<Domain> {
    let name = names::domain_name(input.name.as_deref().unwrap_or(""))?;
    let region = names::region(input.region.as_deref().unwrap_or(crate::REGIONS[0]))?;
    let custom_return_path = names::subdomain_label(
        "custom_return_path",
        input.custom_return_path.as_deref().unwrap_or("send"),
    )?;
    let mut domain = Domain {
        id: new_id(),
        team_id: team_id.to_string(),
        name,
        status: status::NOT_STARTED.to_string(),
        region,
        created_at: app.now_ms(),
        custom_return_path,
        open_tracking: false,
        click_tracking: false,
        tls: "opportunistic".to_string(),
        sending: "enabled".to_string(),
        receiving: "disabled".to_string(),
        tracking_subdomain: None,
        dkim_selector: app.settings().domains.dkim_selector.clone(),
        dkim_public_key: String::new(),
        verify_started_at: None,
        failing_since: None,
        checked_at: None,
        check_token: None,
        auth_report: None,
    };
    apply_settings(&mut domain, &input)?;

    let taken: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM domains WHERE team_id = $1 AND name = $2"
    )
    .bind(team_id)
    .bind(&domain.name)
    .fetch_optional(pool)
    .await)?;
    if taken.is_some() {
        return Err(DomainError::AlreadyAdded(domain.name));
    }

    // Key generation and the key file are blocking work.
    let settings = app.settings().clone();
    let domain_id = domain.id.clone();
    let (public_key, sealed) = tokio::task::spawn_blocking(move || {
        let key = dkim_keys::generate()?;
        let encryption_key = dkim_keys::encryption_key(&settings)?;
        let sealed = dkim_keys::seal(&encryption_key, &key.private_key, &domain_id)?;
        anyhow::Ok((key.public_key, sealed))
    })
    .await
    .map_err(|e| DomainError::KeyGeneration(e.to_string()))??;
    domain.dkim_public_key = public_key;

    let d = &domain;
    let event = events::event(
        events::CREATED,
        d,
        &record_states(app, d, HashMap::new()),
        d.created_at,
    );
    let mut insert = Stmt::new(format!(
        "INSERT INTO domains (id, team_id, name, status, region, created_at, \
         custom_return_path, {SETTINGS}, dkim_selector, dkim_public_key, dkim_private_key, \
         updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $6)"
    ))
    .text(&d.id)
    .text(&d.team_id)
    .text(&d.name)
    .text(&d.status)
    .text(&d.region)
    .int(d.created_at)
    .text(&d.custom_return_path);
    insert.args.extend(d.settings());
    let insert = insert
        .text(&d.dkim_selector)
        .text(&d.dkim_public_key)
        .text(sealed);
    write(app, d, &insert, false, &event).await?;
    Ok(domain)
}

/// Writes domain `d`'s row (`stmt`) and the webhook event that tells of it in one
/// transaction, then forgets what this node keeps of it and wakes the workers to deliver
/// the event. With `new_tracking`, the checks of the tracking records go in the same
/// transaction: they were about the old name.
async fn write(
    app: &App,
    d: &Domain,
    stmt: &Stmt,
    new_tracking: bool,
    event: &crate::webhooks::Event,
) -> DomainResult<()> {
    let forget = new_tracking.then(|| {
        Stmt::new("DELETE FROM domain_records WHERE domain_id = $1 AND kind IN ($2, $3)")
            .text(&d.id)
            .text(RecordKey::Tracking.as_str())
            .text(RecordKey::TrackingCaa.as_str())
    });
    on_db!(app.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        crate::exec_stmts!(tx, std::iter::once(stmt).chain(&forget))?;
        crate::emit_in!(tx, event)?;
        tx.commit().await
    }
    .await)?;
    reads::forget(&d.team_id, &d.name);
    app.notify_jobs();
    Ok(())
}

pub async fn list(app: &App, team_id: &str, page: &Page) -> DomainResult<ListResponse<Domain>> {
    Ok(crate::store::team_rows::list(app.db(), ("domains", COLUMNS), team_id, page).await?)
}

/// A domain's id and name, for pickers such as the API Keys form's domain select.
#[derive(Debug, Clone, FromRow)]
pub struct DomainName {
    pub id: String,
    pub name: String,
}

/// The team's domains, by name.
pub async fn names_for_team(app: &App, team_id: &str) -> DomainResult<Vec<DomainName>> {
    Ok(reads::names(app, team_id).await?)
}

/// Any team's domain by id (the verification job has no team context).
async fn find(app: &App, id: &str) -> DomainResult<Option<Domain>> {
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, Domain>(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM domains WHERE id = $1"))
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    Ok(row)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> DomainResult<Domain> {
    match find(app, id).await? {
        Some(domain) if domain.team_id == team_id => Ok(domain),
        _ => Err(DomainError::NotFound),
    }
}

#[derive(FromRow)]
struct RecordRow {
    kind: String,
    status: String,
    found: String,
    message: Option<String>,
}

/// The stored per-record results of a domain, by record.
async fn record_rows(app: &App, domain_id: &str) -> DomainResult<HashMap<RecordKey, RecordRow>> {
    let rows = on_db!(app.db(), |pool| sqlx::query_as::<_, RecordRow>(
        "SELECT kind, status, found, message FROM domain_records WHERE domain_id = $1"
    )
    .bind(domain_id)
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((RecordKey::parse(&r.kind)?, r)))
        .collect())
}

/// The records the domain needs, each with its status.
pub async fn records(app: &App, domain: &Domain) -> DomainResult<Vec<RecordState>> {
    let stored = record_rows(app, &domain.id).await?;
    Ok(record_states(app, domain, stored))
}

/// The records the domain needs with the `stored` results of the last check; records never
/// checked are pending while the domain is checked, not started otherwise.
fn record_states(
    app: &App,
    domain: &Domain,
    mut stored: HashMap<RecordKey, RecordRow>,
) -> Vec<RecordState> {
    let unchecked = if status::is_checking(&domain.status) {
        status::PENDING
    } else {
        status::NOT_STARTED
    };
    records::expected(app.settings(), domain)
        .into_iter()
        .map(|expected| match stored.remove(&expected.key) {
            Some(row) => RecordState {
                expected,
                status: row.status,
                message: row.message,
                found: serde_json::from_str(&row.found).unwrap_or_default(),
            },
            None => RecordState {
                expected,
                status: unchecked.to_string(),
                message: None,
                found: Vec::new(),
            },
        })
        .collect()
}

/// Changes tracking, TLS and capabilities. Name, region and return path are fixed.
pub async fn update(
    app: &App,
    team_id: &str,
    id: &str,
    input: DomainInput,
) -> DomainResult<Domain> {
    let mut domain = get(app, team_id, id).await?;
    if let Some(region) = &input.region {
        let region = names::region(region)?;
        if region != domain.region {
            return Err(DomainError::Invalid(format!(
                "The region of a domain cannot be changed (it is {}). Delete the domain and add \
                 it again in {region}, or add a subdomain such as `{}.{}` in {region}.",
                domain.region,
                region.split('-').next().unwrap_or("eu"),
                domain.name
            )));
        }
    }
    if let Some(name) = &input.name
        && names::domain_name(name).ok().as_deref() != Some(domain.name.as_str())
    {
        return Err(DomainError::Invalid(
            "The `name` of a domain cannot be changed; add the new domain instead.".into(),
        ));
    }
    if let Some(path) = &input.custom_return_path
        && !path.trim().eq_ignore_ascii_case(&domain.custom_return_path)
    {
        return Err(DomainError::Invalid(
            "The `custom_return_path` of a domain cannot be changed; delete the domain and \
             add it again with the new return path."
                .into(),
        ));
    }
    let old_tracking = domain.tracking_subdomain.clone();
    apply_settings(&mut domain, &input)?;
    let now = app.now_ms();
    let d = &domain;
    let mut stored = record_rows(app, &d.id).await?;
    if old_tracking != d.tracking_subdomain {
        stored.remove(&RecordKey::Tracking);
        stored.remove(&RecordKey::TrackingCaa);
    }
    let event = events::event(events::UPDATED, d, &record_states(app, d, stored), now);
    let mut update = Stmt::new(format!(
        "UPDATE domains SET ({SETTINGS}, updated_at) = ($2, $3, $4, $5, $6, $7, $8) \
         WHERE id = $1"
    ))
    .text(&d.id);
    update.args.extend(d.settings());
    write(
        app,
        d,
        &update.int(now),
        old_tracking != d.tracking_subdomain,
        &event,
    )
    .await?;
    // This node's deliveries see a new `tls` at once (other nodes within 30 seconds).
    app.delivery().forget_domain(team_id, &domain.name);
    Ok(domain)
}

/// Deletes a domain. API keys restricted to it go too: they could only send from it, and
/// keeping them without the restriction would let them send from every domain.
pub async fn delete(app: &App, team_id: &str, id: &str) -> DomainResult<()> {
    let domain = get(app, team_id, id).await?;
    let now = app.now_ms();
    let event = events::event(events::DELETED, &domain, &records(app, &domain).await?, now);
    let deleted = on_db!(app.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        crate::exec_stmt!(
            &mut *tx,
            &crate::auth::api_keys::delete_for_domain(team_id, id)
        )?;
        let removed = sqlx::query("DELETE FROM domains WHERE id = $1 AND team_id = $2")
            .bind(id)
            .bind(team_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false); // deleted meanwhile: dropping `tx` rolls back
        }
        crate::emit_in!(tx, &event)?;
        tx.commit().await.map(|_| true)
    }
    .await)?;
    if !deleted {
        return Err(DomainError::NotFound);
    }
    app.forget_cached_keys();
    reads::forget(team_id, &domain.name);
    app.notify_jobs();
    Ok(())
}

/// "Verify DNS records": starts (or restarts) the checks and runs one right away.
/// A domain that is not started or failed becomes pending, with 72 hours to verify.
pub async fn start_verification(app: &App, team_id: &str, id: &str) -> DomainResult<Domain> {
    let mut domain = get(app, team_id, id).await?;
    let now = app.now_ms();
    let token = new_id();
    let restart = !status::is_checking(&domain.status);
    if restart {
        domain.status = status::PENDING.to_string();
        domain.verify_started_at = Some(now);
        domain.failing_since = None;
    }
    domain.check_token = Some(token.clone());
    let job = job::next_check(&domain.id, &token, now);
    let d = &domain;
    // Restarting moves the domain and its records to pending: an update to report.
    let event = restart.then(|| {
        let pending = record_states(app, d, HashMap::new());
        events::event(events::UPDATED, d, &pending, now)
    });
    on_db!(app.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "UPDATE domains SET status = $2, verify_started_at = $3, failing_since = $4, \
             check_token = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(&d.id)
        .bind(&d.status)
        .bind(d.verify_started_at)
        .bind(d.failing_since)
        .bind(&token)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if restart {
            sqlx::query(
                "UPDATE domain_records SET status = 'pending', message = NULL WHERE domain_id = $1",
            )
            .bind(&d.id)
            .execute(&mut *tx)
            .await?;
        }
        crate::enqueue_in!(&mut *tx, &job, now)?;
        if let Some(event) = &event {
            crate::emit_in!(tx, event)?;
        }
        tx.commit().await
    }
    .await)?;
    reads::forget(team_id, &domain.name);
    app.notify_jobs();
    Ok(domain)
}
