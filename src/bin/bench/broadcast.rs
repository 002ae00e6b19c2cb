//! `herald-bench broadcast --contacts 1000000 [--database postgres]`: fills a segment with N
//! contacts, sends a personalised broadcast to it and measures
//!
//! - the time from "send" until every email is queued (the fan-out),
//! - the delivery rate to a local counting sink (over `--deliver-seconds`, or until done),
//! - the process's peak memory (server, fan-out, delivery and sink in one process).

use std::time::{Duration, Instant};

use herald::app::{self, App};
use herald::smtp::sink::{Sink, SinkOptions};
use herald::store::sql::{self, Arg, Placeholders};

use super::{Backend, current_rss_mb, load_average, peak_rss_mb, text};

#[derive(clap::Args)]
pub struct BroadcastArgs {
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Deliveries at once (the `delivery.concurrency` setting).
    #[arg(long, default_value_t = 64)]
    delivery_concurrency: usize,
    /// Stop measuring delivery after this many seconds (0: wait for every message).
    #[arg(long, default_value_t = 60)]
    deliver_seconds: u64,
}

const HTML: &str = "<html><body><h1>Our November news</h1><p>Hello {{{FIRST_NAME|there}}},</p>\
<p>Here is what changed this month at Acme: faster delivery, a new dashboard and better \
reports. Read the <a href=\"https://acme.example/blog/november\">full story on our blog</a>.</p>\
<p>Your plan: {{{plan|free}}}.</p><p style=\"font-size:12px;color:#666\">You receive this \
because you signed up at acme.example. <a href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\">Unsubscribe</a>\
</p></body></html>";

/// N contacts in one segment, written in multi-row statements (a fill, not what is timed).
async fn fill(app: &App, team: &str, segment: &str, n: usize) -> anyhow::Result<()> {
    const CHUNK: usize = 2_000;
    let now = app.now_ms();
    let mut i = 0;
    while i < n {
        let end = (i + CHUNK).min(n);
        let ids: Vec<String> = (i..end).map(|_| herald::store::new_id()).collect();
        let contacts = (i..end)
            .zip(&ids)
            .map(|(k, id)| {
                let email = format!("reader{k}@example.com");
                let properties = if k % 3 == 0 {
                    r#"{"plan":"pro"}"#
                } else {
                    "{}"
                };
                vec![
                    text(id),
                    text(team),
                    text(&email),
                    text(email),
                    text(format!("Reader {k}")),
                    Arg::Bool(false),
                    text(properties),
                    Arg::Int(now),
                    Arg::Int(now),
                ]
            })
            .collect();
        let members = ids
            .iter()
            .map(|id| vec![text(segment), text(id), Arg::Int(now)])
            .collect();
        let style = Placeholders::of(app.db());
        let mut stmts = sql::bulk_insert(
            style,
            "INSERT INTO contacts (id, team_id, email, email_lower, first_name, unsubscribed, \
             properties, created_at, updated_at)",
            contacts,
            "",
        );
        stmts.extend(sql::bulk_insert(
            style,
            "INSERT INTO contact_segments (segment_id, contact_id, created_at)",
            members,
            "",
        ));
        sql::run(app.db(), &stmts).await?;
        i = end;
    }
    Ok(())
}

pub async fn broadcast(args: BroadcastArgs) -> anyhow::Result<()> {
    let sink = Sink::start_with(SinkOptions {
        keep_messages: false,
        ..SinkOptions::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let mut settings = super::relaying_to(&sink, dir.path(), args.delivery_concurrency)?;
    super::use_database(&mut settings, args.database, &args.pg_url).await?;
    let app = App::open(settings, None).await?;
    super::deliver_setup(&app).await?;
    let team = herald::teams::first_team_id(&app)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no team"))?;
    herald::audience::properties::create(
        &app,
        &team,
        herald::audience::properties::NewProperty {
            key: Some("plan".into()),
            kind: Some("string".into()),
            fallback_value: None,
        },
    )
    .await?;
    let segment = herald::audience::segments::create(
        &app,
        &team,
        herald::audience::segments::NewSegment {
            name: Some("Everyone".into()),
            ..Default::default()
        },
    )
    .await?;
    let fill_started = Instant::now();
    fill(&app, &team, &segment.id, args.contacts).await?;
    eprintln!(
        "  filled {} contacts in {:.1}s (rss {:.0} MB)",
        args.contacts,
        fill_started.elapsed().as_secs_f64(),
        current_rss_mb()
    );
    let running = app::start(app.clone()).await?;
    let load_at_start = load_average();
    let input = herald::broadcasts::service::BroadcastInput {
        name: Some(Some("Bench".into())),
        segment_id: Some(segment.id.clone()),
        from: Some("Acme News <news@bench.example>".into()),
        subject: Some("November news for {{{FIRST_NAME|you}}}".into()),
        preview_text: Some(Some("Faster delivery and a new dashboard".into())),
        html: Some(Some(HTML.into())),
        ..Default::default()
    };
    let started = Instant::now();
    let b = herald::broadcasts::service::create(
        &app,
        &team,
        input,
        Some(herald::broadcasts::service::When::Now),
    )
    .await?;
    let mut queued_in = None;
    let mut delivered_at_queued = 0;
    let mut rss_samples = Vec::new();
    let mut last_print = Instant::now();
    let deadline = Duration::from_secs(args.deliver_seconds);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = herald::broadcasts::store::by_id(&app, &b.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("broadcast vanished"))?;
        let delivered = sink.count();
        if queued_in.is_none() && now.status == "sent" {
            queued_in = Some(started.elapsed());
            delivered_at_queued = delivered;
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let rss = current_rss_mb();
            rss_samples.push(rss.round() as i64);
            eprintln!(
                "  {:>6.1}s status={} queued={} delivered={delivered} rss_mb={rss:.0}",
                started.elapsed().as_secs_f64(),
                now.status,
                now.recipients
            );
        }
        if delivered >= args.contacts {
            break;
        }
        if args.deliver_seconds > 0 && started.elapsed() >= deadline && queued_in.is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(7200) {
            anyhow::bail!("gave up after two hours");
        }
    }
    let elapsed = started.elapsed();
    let delivered = sink.count();
    let queued_in = queued_in.unwrap_or(elapsed);
    println!(
        "backend={} contacts={} delivery_concurrency={}",
        app.db().backend_name(),
        args.contacts,
        args.delivery_concurrency
    );
    println!("loadavg_1min start={load_at_start} end={}", load_average());
    println!(
        "queued_all_in={:.2}s ({:.0} emails/s queued; {delivered_at_queued} delivered meanwhile)",
        queued_in.as_secs_f64(),
        args.contacts as f64 / queued_in.as_secs_f64()
    );
    println!(
        "delivered={delivered} in {:.2}s since send: {:.0}/s (message_bytes_avg={})",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        sink.bytes() / delivered.max(1) as u64
    );
    println!(
        "peak_rss_mb={:.1} (fill, server, fan-out, delivery and sink in one process)",
        peak_rss_mb()
    );
    println!("rss_mb_per_second={rss_samples:?}");
    running.stop().await;
    sink.stop().await;
    Ok(())
}
