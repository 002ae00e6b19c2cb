//! The durable job queue on the real database: exclusive claims between two Herald
//! instances sharing one database, lease expiry, backoff and the dead state.

use std::collections::HashSet;

use herald::app::App;
use herald::queue::{self, LEASE_MS, NewJob};
use serde_json::json;

use crate::helpers::spawn_app;

const KIND: &str = "test_kind";

async fn second_instance(app: &App) -> App {
    App::open(app.settings().clone(), None)
        .await
        .expect("second instance")
}

#[tokio::test]
async fn two_instances_never_claim_the_same_job() {
    let test = spawn_app().await;
    let now = test.app.now_ms();
    for i in 0..300 {
        queue::enqueue(
            test.app.db(),
            &NewJob::new(KIND, &json!({ "n": i }), now),
            now,
        )
        .await
        .unwrap();
    }
    let other = second_instance(&test.app).await;
    let claim_all = |app: App, worker: &'static str| async move {
        let mut ids = Vec::new();
        loop {
            let jobs = queue::claim(app.db(), KIND, worker, app.now_ms(), 7)
                .await
                .unwrap();
            if jobs.is_empty() {
                return ids;
            }
            ids.extend(jobs.into_iter().map(|j| j.id));
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claim_all(test.app.clone(), "a")),
        tokio::spawn(claim_all(other.clone(), "b"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let a_set: HashSet<_> = a.iter().collect();
    let b_set: HashSet<_> = b.iter().collect();
    assert_eq!(a.len() + b.len(), 300, "every job claimed exactly once");
    assert!(a_set.is_disjoint(&b_set), "no job claimed twice");
    other.db().close().await;
}

#[tokio::test]
async fn expired_leases_are_reclaimed_and_failures_back_off_then_die() {
    let test = spawn_app().await;
    let db = test.app.db();
    let now = test.app.now_ms();
    let mut job = NewJob::new(KIND, &json!({}), now);
    job.max_attempts = 2;
    queue::enqueue(db, &job, now).await.unwrap();

    let first = queue::claim(db, KIND, "a", now, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        queue::claim(db, KIND, "b", now + 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "lease holds"
    );
    // The worker died: after the lease another one takes the job over.
    let again = queue::claim(db, KIND, "b", now + LEASE_MS + 1, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);

    // Failing the last attempt makes it dead; nothing is claimed any more.
    queue::fail(db, &again[0], "boom", now + LEASE_MS + 2)
        .await
        .unwrap();
    assert_eq!(queue::count_in_state(db, KIND, "dead").await.unwrap(), 1);
    assert!(
        queue::claim(db, KIND, "c", now + 10 * LEASE_MS, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A failure with attempts left waits for its backoff.
    let retry = NewJob::new(KIND, &json!({"retry": true}), now);
    queue::enqueue(db, &retry, now).await.unwrap();
    let claimed = queue::claim(db, KIND, "a", now, 10).await.unwrap();
    queue::fail(db, &claimed[0], "temporary", now)
        .await
        .unwrap();
    assert!(
        queue::claim(db, KIND, "a", now + 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "backing off"
    );
    let later = queue::claim(db, KIND, "a", now + queue::backoff_ms(1), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    queue::complete(db, &later[0].id, now).await.unwrap();
    assert_eq!(queue::count_in_state(db, KIND, "done").await.unwrap(), 1);
}

#[tokio::test]
async fn jobs_wait_for_their_time() {
    let test = spawn_app().await;
    let db = test.app.db();
    let now = test.app.now_ms();
    queue::enqueue(db, &NewJob::new(KIND, &json!({}), now + 60_000), now)
        .await
        .unwrap();
    assert!(
        queue::claim(db, KIND, "a", now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        queue::claim(db, KIND, "a", now + 60_000, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Inserts `n` jobs of `kind` in `state`, last updated at `at`, in one transaction.
async fn insert_jobs(app: &App, kind: &str, state: &str, n: usize, at: i64) {
    herald::on_db!(app.db(), |pool| async {
        let mut tx = pool.begin().await?;
        for _ in 0..n {
            sqlx::query(
                "INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, \
                 locked_until, created_at, updated_at) VALUES ($1, $2, '{}', $3, $4, 1, 10, $5, \
                 $4, $4)",
            )
            .bind(herald::store::new_id())
            .bind(kind)
            .bind(state)
            .bind(at)
            .bind(at + 365 * 86_400_000)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
    .await)
    .unwrap();
}

#[tokio::test]
async fn finished_jobs_are_purged_after_their_retention_in_batches() {
    use herald::queue::purge::{Purged, purge_finished};
    const KIND: &str = "purge_test";
    const T0: i64 = 1_767_225_600_000;
    const MINUTE: i64 = 60_000;
    let clock = std::sync::Arc::new(herald::clock::ManualClock::new(T0));
    let test = crate::helpers::spawn_app_with(crate::helpers::Options {
        clock: Some(clock.clone()),
        configure: Some(Box::new(|s: &mut herald::config::Settings| {
            s.jobs.keep_done_minutes = 60;
            s.jobs.keep_failed_days = 2;
        })),
        ..Default::default()
    })
    .await;
    let app = &test.app;
    // More done jobs than two batches, finished at T0; some given up on; live ones.
    insert_jobs(app, KIND, "done", 2_500, T0).await;
    insert_jobs(app, KIND, "dead", 2, T0).await;
    insert_jobs(app, KIND, "canceled", 1, T0).await;
    insert_jobs(app, KIND, "queued", 3, T0).await;
    insert_jobs(app, KIND, "running", 1, T0).await;
    let count = |state: &'static str| queue::count_in_state(app.db(), KIND, state);

    clock.set(T0 + 59 * MINUTE);
    purge_finished(app, 1_000).await.unwrap();
    assert_eq!(count("done").await.unwrap(), 2_500, "not an hour old yet");
    insert_jobs(app, KIND, "done", 10, T0 + 59 * MINUTE).await;

    clock.set(T0 + 61 * MINUTE);
    let purged = purge_finished(app, 1_000).await.unwrap();
    assert!(purged.done >= 2_500, "{purged:?}"); // the app's own finished jobs too
    assert_eq!(purged.failed, 0);
    assert_eq!(count("done").await.unwrap(), 10, "the younger ones stay");
    assert_eq!(count("dead").await.unwrap(), 2);

    clock.set(T0 + 2 * 24 * 60 * MINUTE + MINUTE);
    let purged = purge_finished(app, 1_000).await.unwrap();
    assert!(purged.done >= 10 && purged.failed >= 3, "{purged:?}");
    for (state, left) in [
        ("done", 0),
        ("dead", 0),
        ("canceled", 0),
        ("queued", 3),
        ("running", 1),
    ] {
        assert_eq!(count(state).await.unwrap(), left, "{state}");
    }
    assert_eq!(
        purge_finished(app, 1_000).await.unwrap(),
        Purged::default(),
        "nothing left to purge"
    );

    // Each batch finds its rows through the partial index, oldest first: its cost is the
    // rows it deletes, not the size of the table.
    if !app.db().is_postgres() {
        let plan: Vec<(i64, i64, i64, String)> = herald::on_db!(app.db(), |pool| sqlx::query_as(
            "EXPLAIN QUERY PLAN DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
             WHERE state = 'done' AND updated_at < 1 ORDER BY updated_at LIMIT 1000)"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        let plan: Vec<String> = plan.into_iter().map(|row| row.3).collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX jobs_done_at")),
            "{plan:?}"
        );
    }
}
