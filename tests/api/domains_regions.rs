//! Regions as sending pools: a node claims only jobs without a region or of a region it
//! serves (`regions` in its configuration).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use herald::queue::worker::{Handler, run_due};
use herald::queue::{self, NewJob};
use serde_json::json;

use crate::helpers::{Options, spawn_app_with};

const KIND: &str = "test_region_kind";

#[tokio::test]
async fn nodes_claim_only_their_regions() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|settings| {
            settings.regions = vec!["eu-west-1".into(), "sa-east-1".into()];
        })),
        ..Options::default()
    })
    .await;
    let db = app.app.db();
    let now = app.app.now_ms();
    for region in [
        None,
        Some("us-east-1"),
        Some("eu-west-1"),
        Some("sa-east-1"),
        Some("ap-northeast-1"),
    ] {
        let mut job = NewJob::new(KIND, &json!({ "region": region }), now);
        job.region = region.map(str::to_string);
        queue::enqueue(db, &job, now).await.unwrap();
    }

    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    let handler: Handler<herald::app::App> = Arc::new(move |_, job| {
        let seen = seen.clone();
        let region = job.region.clone();
        Box::pin(async move {
            assert!(
                matches!(
                    region.as_deref(),
                    None | Some("eu-west-1") | Some("sa-east-1")
                ),
                "{region:?}"
            );
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    });
    let count = run_due(&app.app, KIND, &handler, "eu-node").await.unwrap();
    assert_eq!(count, 3);
    assert_eq!(ran.load(Ordering::SeqCst), 3);

    // The other regions' jobs wait for their nodes.
    let other = queue::claim_in_regions(
        db,
        KIND,
        "us-node",
        now,
        10,
        Some(&["us-east-1".to_string()]),
    )
    .await
    .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].region.as_deref(), Some("us-east-1"));
    let none = queue::claim_in_regions(db, KIND, "no-region-node", now, 10, Some(&[]))
        .await
        .unwrap();
    assert!(none.is_empty());
    let left = queue::claim(db, KIND, "any", now, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].region.as_deref(), Some("ap-northeast-1"));
}

/// A node looks before it claims, with the same region rule: jobs due only in regions it
/// does not serve are not "due" for it, so it never takes the write lock to claim nothing.
#[tokio::test]
async fn nodes_see_due_jobs_only_of_their_regions() {
    let app = spawn_app_with(Options::default()).await;
    let db = app.app.db();
    let now = app.app.now_ms();
    let kind = "test_region_due_kind";
    let mut job = NewJob::new(kind, &json!({}), now);
    job.region = Some("us-east-1".into());
    queue::enqueue(db, &job, now).await.unwrap();

    let none: &[String] = &[];
    let us = ["us-east-1".to_string()];
    let eu = ["eu-west-1".to_string(), "sa-east-1".to_string()];
    assert!(queue::any_due(db, kind, now, None).await.unwrap());
    assert!(queue::any_due(db, kind, now, Some(&us)).await.unwrap());
    assert!(!queue::any_due(db, kind, now, Some(&eu)).await.unwrap());
    assert!(!queue::any_due(db, kind, now, Some(none)).await.unwrap());
    // Not yet due, for anyone.
    assert!(
        !queue::any_due(db, kind, now - 1_000, Some(&us))
            .await
            .unwrap()
    );

    // A job without a region is every node's.
    queue::enqueue(db, &NewJob::new(kind, &json!({ "n": 2 }), now), now)
        .await
        .unwrap();
    assert!(queue::any_due(db, kind, now, Some(&eu)).await.unwrap());
    assert!(queue::any_due(db, kind, now, Some(none)).await.unwrap());
}
