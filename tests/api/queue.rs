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
    test.stop().await;
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
    test.stop().await;
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
    test.stop().await;
}
