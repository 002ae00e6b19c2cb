//! The verification job: one run looks every record up, moves the statuses on, refreshes the
//! DMARC/BIMI report and, in the same transaction, schedules the next run. Each chain of runs
//! carries the token of the "verify" request that started it; a newer request replaces the
//! token, so an older chain stops at its next run instead of running twice.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::dns::Dns;
use super::status::{self, Intervals, State};
use super::{Domain, RecordState, VERIFY_JOB, events, find, record_rows, records, report, verify};
use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::queue::{Job, NewJob};
use crate::store::BeginWrite;

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    domain_id: String,
    token: String,
}

pub fn next_check(domain_id: &str, token: &str, run_at: Millis) -> NewJob {
    let payload = Payload {
        domain_id: domain_id.to_string(),
        token: token.to_string(),
    };
    NewJob::new(VERIFY_JOB, &payload, run_at)
}

fn intervals(app: &App) -> Intervals {
    let d = &app.settings().domains;
    Intervals {
        verify_ms: d.verify_interval_secs as Millis * 1000,
        recheck_ms: d.recheck_interval_secs as Millis * 1000,
    }
}

pub async fn run(app: &App, job: &Job) -> anyhow::Result<()> {
    let payload: Payload = job.payload()?;
    let Some(domain) = find(app, &payload.domain_id).await? else {
        return Ok(()); // deleted since
    };
    if domain.check_token.as_deref() != Some(payload.token.as_str())
        || !status::is_checking(&domain.status)
    {
        return Ok(()); // a newer chain runs, or the domain failed
    }
    let dns = Dns::from_settings(app.settings())?;
    let expected = records::expected(app.settings(), &domain);
    let outcomes = verify::check_all(&dns, &expected).await;
    let now = app.now_ms();
    let settings = app.settings();
    let logo_client = settings
        .domains
        .check_bimi_logo
        .then(|| (settings, app.http_client()));
    let auth = report::check(&dns, logo_client, &domain.name, now).await;
    let previous: HashMap<_, _> = record_rows(app, &domain.id)
        .await?
        .into_iter()
        .map(|(key, row)| (key, row.status))
        .collect();
    let current = State {
        status: domain.status.clone(),
        verify_started_at: domain.verify_started_at,
        failing_since: domain.failing_since,
    };
    let sending = domain.sending == "enabled";
    let step = status::step(sending, &current, &previous, &outcomes, now, intervals(app));
    if step.state.status != domain.status {
        tracing::info!(domain = %domain.name, from = %domain.status, to = %step.state.status,
            "domain status changed");
    }
    // A change of the domain's status or of a record's is reported as `domain.updated`.
    let changed = step.state.status != domain.status
        || step.records.iter().any(|(key, status)| {
            previous.get(key).map_or(status::PENDING, String::as_str) != *status
        });
    let event = changed.then(|| {
        let after = Domain {
            status: step.state.status.clone(),
            ..domain.clone()
        };
        let records: Vec<RecordState> = expected
            .iter()
            .map(|e| RecordState {
                expected: e.clone(),
                status: step
                    .records
                    .iter()
                    .find(|(k, _)| *k == e.key)
                    .map_or(status::PENDING, |(_, s)| s)
                    .to_string(),
                message: None,
                found: Vec::new(),
            })
            .collect();
        events::event(events::UPDATED, &after, &records, now)
    });
    let run = Run {
        step: &step,
        outcomes: &outcomes,
        auth: &auth,
        event,
    };
    save(app, &domain, &payload.token, run, now).await
}

/// What one run found and decided.
struct Run<'a> {
    step: &'a status::Step,
    outcomes: &'a [verify::Outcome],
    auth: &'a report::AuthReport,
    /// `domain.updated`, when something changed.
    event: Option<crate::webhooks::Event>,
}

async fn save(
    app: &App,
    domain: &Domain,
    token: &str,
    run: Run<'_>,
    now: Millis,
) -> anyhow::Result<()> {
    let Run {
        step,
        outcomes,
        auth,
        event,
    } = run;
    let auth_json = serde_json::to_string(auth)?;
    let next = step
        .next_check_at
        .map(|at| next_check(&domain.id, token, at));
    let rows: Vec<(&str, &str, String, Option<&str>)> = outcomes
        .iter()
        .map(|o| {
            let status = step
                .records
                .iter()
                .find(|(k, _)| *k == o.key)
                .map(|(_, s)| *s)
                .unwrap_or(status::PENDING);
            let found = serde_json::to_string(&o.found).unwrap_or_else(|_| "[]".into());
            (o.key.as_str(), status, found, o.message.as_deref())
        })
        .collect();
    on_db!(app.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        // Only the chain holding the current token may write.
        let updated = sqlx::query(
            "UPDATE domains SET status = $2, verify_started_at = $3, failing_since = $4, \
             checked_at = $5, auth_report = $6, updated_at = $5 WHERE id = $1 AND check_token = $7",
        )
        .bind(&domain.id)
        .bind(&step.state.status)
        .bind(step.state.verify_started_at)
        .bind(step.state.failing_since)
        .bind(now)
        .bind(&auth_json)
        .bind(token)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(());
        }
        for (kind, status, found, message) in &rows {
            sqlx::query(
                "INSERT INTO domain_records (domain_id, kind, status, found, message, checked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (domain_id, kind) DO UPDATE SET \
                 status = excluded.status, found = excluded.found, message = excluded.message, \
                 checked_at = excluded.checked_at",
            )
            .bind(&domain.id)
            .bind(*kind)
            .bind(*status)
            .bind(found)
            .bind(*message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(job) = &next {
            crate::enqueue_in!(&mut *tx, job, now)?;
        }
        if let Some(event) = &event {
            crate::emit_in!(tx, event)?;
        }
        tx.commit().await
    }
    .await)?;
    // Its status may have changed: this node's sender check asks again.
    super::reads::forget(&domain.team_id, &domain.name);
    if event.is_some() {
        app.notify_jobs();
    }
    Ok(())
}
