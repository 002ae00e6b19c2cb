//! The hourly rollup behind email metrics: once a UTC hour has ended (and a margin for
//! transactions still committing has passed), its events are counted per team, sender
//! domain, broadcast and metric into `email_metrics_hourly`, and `metrics_rollup.sealed_until`
//! moves past it. The same counting reads the events of hours not sealed yet when a
//! question reaches them, so the rollup only makes answers cheap, never different.
//!
//! Several nodes may run the ticker: sealing an hour first moves `sealed_until` from that
//! hour to the next in the transaction that writes the hour's rows, so one node writes it
//! and the others find it sealed.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{COUNTED_EVENTS, COUNTS, Counted, HOUR, count_event, sender_domain};
use crate::clock::Millis;
use crate::emails::reads;
use crate::handle::App;
use crate::on_db;

/// How long after an hour ends before it is sealed: an event is stamped when its
/// transaction starts, so one still committing may carry a time inside the hour.
const MARGIN: Millis = 2 * 60_000;
const INTERVAL: Duration = Duration::from_secs(60);
/// Hours sealed per tick at most (catching up after a long stop takes several ticks).
const HOURS_PER_TICK: usize = 24 * 7;

/// Which events to count.
pub struct Scope<'a> {
    /// One team, or all (the rollup).
    pub team_id: Option<&'a str>,
    pub from: Millis,
    pub to: Millis,
    /// Only these emails (validated UUIDs), or all.
    pub email_ids: &'a [String],
}

#[derive(sqlx::FromRow)]
struct EventRow {
    team_id: String,
    kind: String,
    email_id: String,
    data: String,
    created_at: i64,
    from_address: String,
    broadcast_id: Option<String>,
    first: i32,
}

#[derive(sqlx::FromRow)]
struct UnsubscribeRow {
    team_id: String,
    created_at: i64,
    from_address: String,
    broadcast_id: String,
}

/// Counts the events in `scope`, calling `add` with each (team, counted thing).
async fn scan(
    app: &App,
    scope: &Scope<'_>,
    mut add: impl FnMut(&str, Counted<'_>),
) -> sqlx::Result<()> {
    let mut domains: HashMap<String, String> = HashMap::new();
    let mut handle = |row: EventRow| {
        let domain: &str = domains
            .entry(row.from_address)
            .or_insert_with_key(|from| sender_domain(from));
        let broadcast = row.broadcast_id.unwrap_or_default();
        count_event(&row.kind, &row.data, row.first == 1, |metric| {
            add(
                &row.team_id,
                Counted {
                    at: row.created_at,
                    domain,
                    broadcast_id: &broadcast,
                    email_id: Some(&row.email_id),
                    metric,
                    count: 1,
                },
            )
        });
    };
    let counted = reads::Counted {
        team_id: scope.team_id,
        from: scope.from,
        to: scope.to,
        email_ids: scope.email_ids,
        kinds: COUNTED_EVENTS,
    };
    reads::counted_events(app, &counted, &mut handle).await?;

    // Unsubscribes belong to a broadcast, not to one email.
    if !scope.email_ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<UnsubscribeRow> =
        crate::broadcasts::unsubscribe::in_range(app, scope.from, scope.to, scope.team_id).await?;
    for row in rows {
        let domain = sender_domain(&row.from_address);
        add(
            &row.team_id,
            Counted {
                at: row.created_at,
                domain: &domain,
                broadcast_id: &row.broadcast_id,
                email_id: None,
                metric: "unsubscribed",
                count: 1,
            },
        );
    }
    Ok(())
}

/// Counts the events of one team in `scope` (the time the rollup has not sealed, or one
/// email's events).
pub(super) async fn count_events(
    app: &App,
    scope: Scope<'_>,
    mut add: impl FnMut(Counted<'_>),
) -> sqlx::Result<()> {
    scan(app, &scope, |_, counted| add(counted)).await
}

/// Where the rollup stands: every hour before this is in `email_metrics_hourly`.
pub async fn sealed_until(app: &App) -> sqlx::Result<Millis> {
    let sealed: Option<i64> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT sealed_until FROM metrics_rollup WHERE id = 1"
    )
    .fetch_optional(pool)
    .await)?;
    Ok(sealed.unwrap_or(0))
}

/// The team's rolled-up counts for the hours in `[from, to)`.
pub(super) async fn read(
    app: &App,
    team_id: &str,
    from: Millis,
    to: Millis,
    mut add: impl FnMut(Counted<'_>),
) -> sqlx::Result<()> {
    let rows: Vec<(i64, String, String, String, i64)> = on_db!(app.db(), |pool| {
        sqlx::query_as(
            "SELECT hour, domain, broadcast_id, metric, count FROM email_metrics_hourly \
             WHERE team_id = $1 AND hour >= $2 AND hour < $3",
        )
        .bind(team_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
    })?;
    for (hour, domain, broadcast_id, metric, count) in rows {
        let Some(metric) = COUNTS.iter().copied().find(|m| *m == metric) else {
            continue;
        };
        add(Counted {
            at: hour,
            domain: &domain,
            broadcast_id: &broadcast_id,
            email_id: None,
            metric,
            count,
        });
    }
    Ok(())
}

/// Seals the hours that ended before `now` (less the margin), at most `max_hours` of them;
/// returns how many this call sealed.
pub async fn seal(app: &App, now: Millis, max_hours: usize) -> sqlx::Result<usize> {
    let target = (now - MARGIN).div_euclid(HOUR) * HOUR;
    // The first run starts at the hour of the oldest event.
    let oldest = reads::oldest_event_at(app).await?;
    let start = oldest
        .map_or(target, |t| t.div_euclid(HOUR) * HOUR)
        .min(target);
    on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO metrics_rollup (id, sealed_until) VALUES (1, $1) ON CONFLICT (id) DO NOTHING"
    )
    .bind(start)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    let mut sealed = 0;
    while sealed < max_hours {
        let hour = sealed_until(app).await?;
        if hour >= target {
            break;
        }
        if !seal_hour(app, hour).await? {
            // Another node sealed it meanwhile; look again.
            continue;
        }
        sealed += 1;
    }
    Ok(sealed)
}

/// Counts the hour starting at `hour` and writes it; `false` when another node did.
async fn seal_hour(app: &App, hour: Millis) -> sqlx::Result<bool> {
    let mut counts: HashMap<(String, String, String, &'static str), i64> = HashMap::new();
    let scope = Scope {
        team_id: None,
        from: hour,
        to: hour + HOUR,
        email_ids: &[],
    };
    scan(app, &scope, |team, c| {
        *counts
            .entry((
                team.to_string(),
                c.domain.to_string(),
                c.broadcast_id.to_string(),
                c.metric,
            ))
            .or_default() += c.count;
    })
    .await?;
    let rows: Vec<_> = counts.into_iter().collect();
    let done =
        on_db!(app.db(), |pool| async {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "UPDATE metrics_rollup SET sealed_until = $2 WHERE id = 1 AND sealed_until = $1",
            )
            .bind(hour)
            .bind(hour + HOUR)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM email_metrics_hourly WHERE hour = $1")
                .bind(hour)
                .execute(&mut *tx)
                .await?;
            for chunk in rows.chunks(500) {
                sqlx::QueryBuilder::new(
                "INSERT INTO email_metrics_hourly (team_id, hour, domain, broadcast_id, metric, \
                 count) ",
            )
            .push_values(chunk, |mut row, ((team, domain, broadcast, metric), count)| {
                row.push_bind(team)
                    .push_bind(hour)
                    .push_bind(domain)
                    .push_bind(broadcast)
                    .push_bind(*metric)
                    .push_bind(*count);
            })
            .build()
            .execute(&mut *tx)
            .await?;
            }
            tx.commit().await?;
            Ok::<bool, sqlx::Error>(true)
        }
        .await)?;
    Ok(done)
}

/// Seals ended hours about once a minute, until `shutdown`.
pub fn spawn_ticker(app: &App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            match seal(&app, app.now_ms(), HOURS_PER_TICK).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(hours = n, "email metrics rolled up"),
                Err(err) => tracing::warn!(error = %err, "rolling up email metrics"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(INTERVAL) => {}
            }
        }
    })
}
