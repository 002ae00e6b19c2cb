//! `GET /emails/metrics`: counts from the events, the same before and after the hourly
//! rollup seals them, with Resend's parameters, dimensions, filters and errors.

use std::sync::Arc;

use herald::clock::ManualClock;
use herald::on_db;
use reqwest::Method;
use serde_json::{Value, json};

use crate::emails::{id_of, settle, test_email};
use crate::helpers::HOUR;
use crate::helpers::{assert_error, spawn_app_with_clock};

/// 2026-07-08T10:15:00Z.
const NOW: i64 = 1_783_505_700_000;

/// The day's range, so the same question can be asked before and after sealing.
const RANGE: &str = "start_date=2026-07-08T00:00:00Z&end_date=2026-07-08T23:59:59Z";

#[tokio::test]
async fn counts_rates_dimensions_and_the_rollup_agree() {
    let clock = Arc::new(ManualClock::new(NOW));
    let app = spawn_app_with_clock(clock.clone()).await;
    let mut ids = Vec::new();
    for to in [
        "delivered@resend.dev",
        "delivered+2@resend.dev",
        "delivered+3@resend.dev",
        "bounced@resend.dev",
        "complained@resend.dev",
        "suppressed@resend.dev",
    ] {
        ids.push(id_of(&app.post("/emails", test_email(to)).await));
    }
    settle(&app).await;
    // Two opens of one email (as the tracking pixel records them): one unique.
    for n in 0..2 {
        on_db!(app.app.db(), |pool| sqlx::query(
            "INSERT INTO email_events (id, email_id, team_id, type, recipient, data, created_at) \
             SELECT $1, id, team_id, 'opened', 'delivered@resend.dev', '{}', $2 FROM emails \
             WHERE id = $3"
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(NOW + 60_000 + n)
        .bind(&ids[0])
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        .unwrap());
    }

    // Test recipients' events are a millisecond apart; the opens come a minute later.
    clock.advance(5 * 60_000);
    let totals = app.get(&format!("/emails/metrics?{RANGE}")).await;
    assert_eq!(totals.status, 200, "{}", totals.body);
    let t = &totals.body["totals"];
    assert_eq!(totals.body["object"], "metrics");
    assert_eq!(totals.body["granularity"], "daily");
    assert_eq!(totals.body["dimensions"], json!([]));
    assert!(totals.body.get("data").is_none(), "{}", totals.body);
    assert_eq!(t["received"], 6, "{t}");
    assert_eq!(t["sent"], 5, "{t}");
    assert_eq!(t["delivered"], 4, "{t}");
    assert_eq!(t["bounced"], 1, "{t}");
    assert_eq!(t["bounced_permanent"], 1, "{t}");
    assert_eq!(t["complained"], 1, "{t}");
    assert_eq!(t["suppressed"], 1, "{t}");
    assert_eq!(t["opened"], 2, "{t}");
    assert_eq!(t["unique_opened"], 1, "{t}");
    assert_eq!(t["delivery_rate"], 0.8, "{t}");
    assert_eq!(t["bounce_rate"], 0.2, "{t}");
    assert_eq!(t["open_rate"], 0.25, "{t}");

    // Chosen metrics (comma-separated and repeated), by hour and by domain.
    let by_hour = app
        .get(&format!(
            "/emails/metrics?{RANGE}&metrics=sent,delivered&metrics=bounce_rate\
             &dimensions=period,domain&granularity=hourly"
        ))
        .await;
    assert_eq!(by_hour.status, 200, "{}", by_hour.body);
    assert_eq!(
        by_hour.body["metrics"],
        json!(["sent", "delivered", "bounce_rate"])
    );
    let rows = by_hour.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["period"], "2026-07-08T10:00:00.000Z");
    assert_eq!(rows[0]["domain_name"], "resend.dev");
    assert_eq!(rows[0]["domain_id"], Value::Null);
    assert_eq!(rows[0]["sent"], 5);
    assert!(rows[0].get("received").is_none());

    // The period alone lists every period of the range, empty ones too.
    let daily = app
        .get("/emails/metrics?start_date=2026-07-06&end_date=2026-07-08&dimensions=period")
        .await;
    let days: Vec<_> = daily.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["period"].as_str().unwrap().to_string(), r["sent"].clone()))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-07-06T00:00:00.000Z".to_string(), json!(0)),
            ("2026-07-07T00:00:00.000Z".to_string(), json!(0)),
            ("2026-07-08T00:00:00.000Z".to_string(), json!(5)),
        ]
    );

    // One email, and the email dimension.
    let one = app
        .get(&format!("/emails/metrics?{RANGE}&email_id={}", ids[3]))
        .await;
    assert_eq!(one.body["totals"]["bounced"], 1, "{}", one.body);
    assert_eq!(one.body["totals"]["received"], 1, "{}", one.body);
    let per_email = app
        .get(&format!(
            "/emails/metrics?{RANGE}&dimensions=email&metrics=received"
        ))
        .await;
    assert_eq!(per_email.body["data"].as_array().unwrap().len(), 6);

    // Two hours later the hour is sealed into the rollup: the same answers.
    clock.advance(2 * HOUR);
    let sealed = herald::metrics::rollup::seal(&app.app, app.app.now_ms(), 1000)
        .await
        .unwrap();
    assert!(sealed >= 1, "sealed {sealed} hours");
    let rolled: i64 = on_db!(app.app.db(), |pool| {
        sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM email_metrics_hourly WHERE metric = 'sent'"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(rolled, 5);
    let again = app.get(&format!("/emails/metrics?{RANGE}")).await;
    assert_eq!(again.body["totals"], totals.body["totals"]);
    let again = app
        .get(&format!(
            "/emails/metrics?{RANGE}&metrics=sent,delivered&metrics=bounce_rate\
             &dimensions=period,domain&granularity=hourly"
        ))
        .await;
    assert_eq!(again.body["data"], by_hour.body["data"]);
    // Sealing again changes nothing.
    assert_eq!(
        herald::metrics::rollup::seal(&app.app, app.app.now_ms(), 1000)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn bad_parameters_and_sending_keys_are_refused() {
    let clock = Arc::new(ManualClock::new(NOW));
    let app = spawn_app_with_clock(clock).await;
    for query in [
        "metrics=sent,nope",
        "dimensions=email,broadcast",
        "dimensions=email&broadcast_id=00000000-0000-0000-0000-000000000000",
        "email_id=not-a-uuid",
        "start_date=2026-07-09&end_date=2026-07-01",
        "start_date=yesterday",
        "timezone=Mars/Olympus",
        "granularity=yearly",
        "start_date=2000-01-01&granularity=hourly&dimensions=period",
    ] {
        let reply = app.get(&format!("/emails/metrics?{query}")).await;
        assert_error(&reply, 422, "validation_error");
    }
    let key = app
        .post(
            "/api-keys",
            json!({"name": "send", "permission": "sending_access"}),
        )
        .await;
    let token = key.body["token"].as_str().unwrap().to_string();
    let refused = app
        .call_with_key(&token, Method::GET, "/emails/metrics", None)
        .await;
    assert_error(&refused, 401, "restricted_api_key");
}

#[tokio::test]
async fn the_metrics_page_shows_figures_limits_chart_and_domains() {
    let clock = Arc::new(ManualClock::new(NOW));
    let app = spawn_app_with_clock(clock.clone()).await;
    let (visitor, _) = crate::dashboard::sign_in_admin(&app).await;
    let empty = visitor.get("/dashboard/metrics").await;
    assert_eq!(empty.status, 200);
    assert!(
        empty.html.contains("No emails in this period."),
        "{}",
        empty.html
    );
    assert!(
        empty
            .html
            .contains("href=\"/dashboard/metrics\" aria-current=\"page\"")
    );
    for to in ["delivered@resend.dev", "bounced@resend.dev"] {
        id_of(&app.post("/emails", test_email(to)).await);
    }
    settle(&app).await;
    clock.advance(60_000);
    let page = visitor.get("/dashboard/metrics?days=7").await;
    assert_eq!(page.status, 200);
    let html = &page.html;
    assert!(html.contains("<option value=\"7\" selected>"), "{html}");
    assert!(html.contains("id=\"figure-sent\""), "{html}");
    // One bounce in two sent: 50%, over the 4% limit.
    assert!(html.contains("<strong>50%</strong>"), "{html}");
    assert!(html.contains("data-over=\"true\""), "{html}");
    assert!(html.contains("<svg"), "a chart: {html}");
    assert!(html.contains("<td>resend.dev</td>"), "{html}");
    // An unknown range or domain falls back to the defaults.
    let fallback = visitor.get("/dashboard/metrics?days=12&domain=nope").await;
    assert_eq!(fallback.status, 200);
    assert!(fallback.html.contains("<option value=\"30\" selected>"));
}
