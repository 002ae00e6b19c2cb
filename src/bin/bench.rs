//! `herald-bench`: measures Herald's accept path. It starts Herald in this process on a
//! random port with a fresh database (SQLite in a temporary folder, or a new PostgreSQL
//! database), then sends emails through `POST /emails` over real HTTP and prints accepted
//! emails per second and latency percentiles.
//!
//!   cargo run --release --bin herald-bench -- accept --emails 20000 --concurrency 32
//!   cargo run --release --bin herald-bench -- accept --database postgres --rate 1000
//!
//! `--rate R` sends at a fixed rate (open loop) to read latency at that load; without it
//! every client sends as fast as it can (closed loop) to find the throughput.
//!
//! `deliver` measures the whole path: HTTP `POST /emails` → durable commit → the delivery
//! job (MIME, DKIM RSA-2048 signature) → SMTP to a counting sink in this process, an email
//! being counted when the sink has it. Mail goes to the sink as the configured relay (the
//! same SMTP client and connection pool as direct delivery, without the MX look-up, which
//! is cached in real use anyway).
//!
//!   cargo run --release --bin herald-bench -- deliver --emails 20000 --size 5k --concurrency 32
//!   cargo run --release --bin herald-bench -- deliver --emails 50000 --backlog
//!
//! It prints the 1-minute load average at the start and the end: the machines are shared.
//!
//! `relay` runs the real `herald` binary instead (default settings, relaying to Postfix's
//! counting `smtp-sink`), side by side with Postfix: see src/bin/bench/relay.rs and
//! docs/performance.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use herald::app::{self, App};
use herald::config::Settings;
use serde_json::json;

#[derive(Parser)]
#[command(name = "herald-bench", about = "Benchmarks for Herald")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send N emails through POST /emails and report accepted emails/s and latency.
    Accept(AcceptArgs),
    /// Import a generated CSV of N contacts; report rows/s and peak memory.
    Import(ImportArgs),
    /// Time `GET /contacts?limit=100` at several depths of a large contact list.
    ContactsPage(ContactsPageArgs),
    /// Send N emails and deliver them (DKIM-signed, over SMTP) to a counting sink; report
    /// delivered messages/s and peak memory.
    Deliver(DeliverArgs),
    /// Send a broadcast to a segment of N contacts; report the time until every email is
    /// queued, the delivery rate to a counting sink and peak memory.
    Broadcast(broadcast_bench::BroadcastArgs),
    /// Fill N email events over 30 days, seal the metrics rollup and time
    /// `GET /emails/metrics` questions.
    Metrics(metrics_bench::MetricsArgs),
    /// Fill N contacts and export them as the export job does (and as `herald export`);
    /// report rows/s and peak memory.
    Export(export_bench::ExportArgs),
    /// Run the real `herald` binary (default settings, relay to Postfix's counting
    /// smtp-sink), send through the API as the SDKs do, and compare with Postfix and
    /// Postfix + OpenDKIM relaying to the same sink, interleaved.
    Relay(relay_bench::RelayArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Size {
    #[value(name = "5k")]
    Small,
    #[value(name = "50k")]
    Large,
}

#[derive(clap::Args)]
struct DeliverArgs {
    #[arg(long, default_value_t = 10_000)]
    emails: usize,
    /// Size of each message's body.
    #[arg(long, value_enum, default_value_t = Size::Small)]
    size: Size,
    /// Concurrent HTTP clients sending.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Deliveries at once (the `delivery.concurrency` setting).
    #[arg(long, default_value_t = 64)]
    delivery_concurrency: usize,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Accept all N first on a node that delivers nothing (RSS printed as the queue
    /// grows), then restart delivering and time the drain alone.
    #[arg(long)]
    backlog: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(clap::Args)]
struct AcceptArgs {
    #[arg(long, default_value_t = 10_000)]
    emails: usize,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Fixed send rate in emails/s (open loop); omit to send as fast as possible.
    #[arg(long)]
    rate: Option<u64>,
    /// Size of the HTML body in bytes.
    #[arg(long, default_value_t = 2_000)]
    body_bytes: usize,
    /// Turn the request log off (`[logs] enabled = false`), to measure what logging costs.
    #[arg(long)]
    no_logs: bool,
    /// `[sqlite] mmap_size_mb` (default: Herald's).
    #[arg(long)]
    sqlite_mmap_mb: Option<u64>,
    /// `[sqlite] cache_size_mb` (default: Herald's).
    #[arg(long)]
    sqlite_cache_mb: Option<u64>,
    /// `[sqlite] wal_autocheckpoint_pages` (default: Herald's).
    #[arg(long)]
    sqlite_wal_autocheckpoint: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `RUST_LOG` (e.g. `sqlx::query=debug`) logs to stderr, to see what a run executes.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let outcome = match Cli::parse().command {
        Command::Accept(args) => accept(args).await,
        Command::Import(args) => audience_bench::import(args).await,
        Command::ContactsPage(args) => audience_bench::contacts_page(args).await,
        Command::Deliver(args) => deliver(args).await,
        Command::Broadcast(args) => broadcast_bench::broadcast(args).await,
        Command::Metrics(args) => metrics_bench::metrics(args).await,
        Command::Export(args) => export_bench::export(args).await,
        Command::Relay(args) => relay_bench::relay(args).await,
    };
    drop_fresh_databases().await;
    outcome
}

#[path = "bench/audience.rs"]
mod audience_bench;
#[path = "bench/broadcast.rs"]
mod broadcast_bench;
#[path = "bench/export.rs"]
mod export_bench;
#[path = "bench/metrics.rs"]
mod metrics_bench;
#[path = "bench/relay.rs"]
mod relay_bench;
use audience_bench::{ContactsPageArgs, ImportArgs};

/// The PostgreSQL databases this run created (server URL, name), dropped when it ends.
static FRESH_DATABASES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

async fn fresh_postgres(server: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!("herald_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    FRESH_DATABASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((server.to_string(), name.clone()));
    let (prefix, _) = server.rsplit_once('/').unwrap_or((server, ""));
    Ok(format!("{prefix}/{name}"))
}

/// Drops the databases [`fresh_postgres`] created (a 1M broadcast leaves 4 GB behind), with
/// `FORCE` since a pool may still hold connections; `KEEP_BENCH_DATABASES=1` keeps
/// them for a look afterwards.
async fn drop_fresh_databases() {
    use sqlx::Connection;
    let created = std::mem::take(&mut *FRESH_DATABASES.lock().unwrap_or_else(|e| e.into_inner()));
    for (server, name) in created {
        if std::env::var_os("KEEP_BENCH_DATABASES").is_some() {
            eprintln!("kept database {name}");
            continue;
        }
        let dropped = async {
            let mut conn = sqlx::PgConnection::connect(&server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
        }
        .await;
        if let Err(err) = dropped {
            eprintln!("could not drop database {name}: {err}");
        }
    }
}

/// Points `settings` at a fresh database of its own on `pg_url`'s server when `database` is
/// PostgreSQL (else SQLite in the data folder).
async fn use_database(
    settings: &mut Settings,
    database: Backend,
    pg_url: &str,
) -> anyhow::Result<()> {
    if database == Backend::Postgres {
        settings.database_url = fresh_postgres(pg_url).await?;
        settings.encryption_key = "ab".repeat(32);
    }
    Ok(())
}

/// The first start of a fresh database: its team and first API key.
async fn first_start(app: &App) -> anyhow::Result<herald::teams::FirstStart> {
    herald::teams::bootstrap(app)
        .await?
        .ok_or_else(|| anyhow::anyhow!("fresh database did not bootstrap"))
}

/// A node's settings that deliver every email through the relay `sink`, with
/// `concurrency` deliveries and connections at a time.
fn relaying_to(
    sink: &herald::smtp::sink::Sink,
    data_dir: &std::path::Path,
    concurrency: usize,
) -> anyhow::Result<Settings> {
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data_dir.to_path_buf(),
        rate_limit: 1_000_000,
        relay: format!("smtp://{}", sink.addr()),
        ..Settings::default()
    };
    settings.delivery.concurrency = concurrency;
    settings.delivery.connections_per_host = concurrency;
    settings.delivery.relay_connections = concurrency;
    Ok(settings)
}

async fn accept(args: AcceptArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        rate_limit: 1_000_000,
        // This node serves no region: the accepted emails are not delivered (`deliver`
        // measures that).
        regions: Vec::new(),
        ..Settings::default()
    };
    settings.logs.enabled = !args.no_logs;
    let sqlite = &mut settings.sqlite;
    sqlite.mmap_size_mb = args.sqlite_mmap_mb.unwrap_or(sqlite.mmap_size_mb);
    sqlite.cache_size_mb = args.sqlite_cache_mb.unwrap_or(sqlite.cache_size_mb);
    sqlite.wal_autocheckpoint_pages = args
        .sqlite_wal_autocheckpoint
        .unwrap_or(sqlite.wal_autocheckpoint_pages);
    println!(
        "sqlite: mmap_size_mb={} cache_size_mb={} wal_autocheckpoint_pages={}",
        settings.sqlite.mmap_size_mb,
        settings.sqlite.cache_size_mb,
        settings.sqlite.wal_autocheckpoint_pages
    );
    use_database(&mut settings, args.database, &args.pg_url).await?;
    let app = App::open(settings, None).await?;
    let first = first_start(&app).await?;
    add_verified_domain(&app, &first.team_id, "bench.example").await?;
    let running = app::start(app.clone()).await?;
    let url = format!("{}/emails", running.base_url());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let html = format!("<p>{}</p>", "x".repeat(args.body_bytes));
    let key = Arc::new(first.api_key);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, key, next, html) = (
            client.clone(),
            url.clone(),
            key.clone(),
            next.clone(),
            html.clone(),
        );
        let (total, rate) = (args.emails, args.rate);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                if let Some(rate) = rate {
                    // Open loop: request i is due at i / rate seconds after the start.
                    let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let body = json!({
                    "from": "Bench <bench@bench.example>",
                    "to": [format!("user{i}@example.com")],
                    "subject": format!("Benchmark {i}"),
                    "html": html,
                    "tags": [{"name": "run", "value": "bench"}],
                });
                let sent = Instant::now();
                match client
                    .post(&url)
                    .bearer_auth(key.as_str())
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    Ok(resp) => {
                        if failures == 0 {
                            eprintln!(
                                "request failed: {} {}",
                                resp.status(),
                                resp.text().await.unwrap_or_default()
                            );
                        }
                        failures += 1;
                    }
                    Err(err) => {
                        if failures == 0 {
                            eprintln!("request error: {err}");
                        }
                        failures += 1;
                    }
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies[idx.min(latencies.len() - 1)].as_secs_f64() * 1000.0
    };
    let stored: i64 = herald::on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM emails"
    )
    .fetch_one(pool)
    .await)?;
    println!(
        "backend={} emails={} concurrency={} rate={} body_bytes={}",
        app.db().backend_name(),
        args.emails,
        args.concurrency,
        args.rate
            .map(|r| r.to_string())
            .unwrap_or_else(|| "max".into()),
        args.body_bytes
    );
    println!(
        "accepted={} failed={} stored={} elapsed={:.2}s throughput={:.0} emails/s",
        latencies.len(),
        failures,
        stored,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    println!("peak_rss_mb={:.1}", peak_rss_mb());
    running.stop().await;
    Ok(())
}

async fn add_verified_domain(app: &App, team_id: &str, name: &str) -> anyhow::Result<()> {
    herald::on_db!(app.db(), |pool| {
        sqlx::query(
        "INSERT INTO domains (id, team_id, name, status, region, created_at) VALUES ($1, $2, $3, 'verified', 'us-east-1', $4)"
    )
    .bind(herald::store::new_id())
    .bind(team_id)
    .bind(name)
    .bind(app.now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A body of about `bytes` bytes: lines of text, like a real newsletter.
/// A text column of a fill's rows (see `herald::store::sql::bulk_insert`).
fn text(value: impl Into<String>) -> herald::store::sql::Arg {
    herald::store::sql::Arg::Text(Some(value.into()))
}

fn body_text(bytes: usize) -> String {
    const WORDS: &[&str] = &[
        "delivery",
        "engine",
        "message",
        "herald",
        "signed",
        "mail",
        "server",
        "queue",
        "durable",
        "recipient",
        "bounce",
        "domain",
        "letter",
        "weekly",
        "update",
        "news",
    ];
    let mut out = String::with_capacity(bytes + 100);
    let mut line = 0;
    let mut i = 7usize;
    while out.len() < bytes {
        i = i.wrapping_mul(2_654_435_761).wrapping_add(1);
        let word = WORDS[(i >> 7) % WORDS.len()];
        out.push_str(word);
        line += word.len() + 1;
        if line > 70 {
            out.push('\n');
            line = 0;
        } else {
            out.push(' ');
        }
    }
    out
}

/// The emails' sender domain, verified, and the first team's API key.
async fn deliver_setup(app: &App) -> anyhow::Result<String> {
    let first = first_start(app).await?;
    let domain = herald::domains::create(
        app,
        &first.team_id,
        herald::domains::DomainInput {
            name: Some("bench.example".into()),
            ..Default::default()
        },
    )
    .await?;
    herald::on_db!(app.db(), |pool| sqlx::query(
        "UPDATE domains SET status = 'verified' WHERE id = $1"
    )
    .bind(&domain.id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(first.api_key)
}

/// Counters shared by the sending clients.
#[derive(Default)]
struct Sent {
    next: AtomicUsize,
    accepted: AtomicUsize,
    failed: AtomicUsize,
}

/// Starts `concurrency` clients that post `total` emails to `url` between them.
fn spawn_senders(args: &DeliverArgs, url: String, key: String, sent: Arc<Sent>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .expect("HTTP client");
    let body_bytes = match args.size {
        Size::Small => 5_000,
        Size::Large => 50_000,
    };
    // Half the size as HTML, half as the text version.
    let text = Arc::new(body_text(body_bytes / 2));
    let html = Arc::new(format!("<p>{}</p>", text.replace('\n', "<br>\n")));
    let key = Arc::new(key);
    let total = args.emails;
    for _ in 0..args.concurrency {
        let (client, url, key, sent, text, html) = (
            client.clone(),
            url.clone(),
            key.clone(),
            sent.clone(),
            text.clone(),
            html.clone(),
        );
        tokio::spawn(async move {
            loop {
                let i = sent.next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let body = json!({
                    "from": "Bench <bench@bench.example>",
                    "to": [format!("user{i}@example.com")],
                    "subject": format!("Benchmark {i}"),
                    "html": html.as_str(),
                    "text": text.as_str(),
                    "tags": [{"name": "run", "value": "bench"}],
                });
                let response = client
                    .post(url.as_str())
                    .bearer_auth(key.as_str())
                    .json(&body)
                    .send()
                    .await;
                let ok = match response {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        true
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        eprintln!(
                            "request failed: {status} {}",
                            resp.text().await.unwrap_or_default()
                        );
                        false
                    }
                    Err(err) => {
                        eprintln!("request error: {err}");
                        false
                    }
                };
                let counter = if ok { &sent.accepted } else { &sent.failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

/// The 1-minute load average, from /proc (the machine is shared: figures need it).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

async fn deliver(args: DeliverArgs) -> anyhow::Result<()> {
    use herald::smtp::sink::{Sink, SinkOptions};
    let sink = Sink::start_with(SinkOptions {
        keep_messages: false,
        ..SinkOptions::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let mut settings = relaying_to(&sink, dir.path(), args.delivery_concurrency)?;
    use_database(&mut settings, args.database, &args.pg_url).await?;
    let load_at_start = load_average();
    let sent = Arc::new(Sent::default());
    let mut rss_by_depth = Vec::new();
    // With --backlog, a node that delivers nothing (it serves no region) takes every email
    // first, so the queue grows to N; then a delivering node is started on the same
    // database and drains it.
    let mut accept_settings = settings.clone();
    if args.backlog {
        accept_settings.regions = Vec::new();
    }
    let app = App::open(accept_settings, None).await?;
    let key = deliver_setup(&app).await?;
    let mut running = app::start(app.clone()).await?;
    let started = Instant::now();
    spawn_senders(
        &args,
        format!("{}/emails", running.base_url()),
        key,
        sent.clone(),
    );
    let mut accepted_in = None;
    if args.backlog {
        let mut next_mark = args.emails / 10;
        loop {
            let accepted = sent.accepted.load(Ordering::Relaxed);
            let failed = sent.failed.load(Ordering::Relaxed);
            if accepted >= next_mark.min(args.emails) && next_mark > 0 {
                rss_by_depth.push((accepted, current_rss_mb()));
                next_mark += args.emails / 10;
            }
            if accepted + failed >= args.emails {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let accept_time = started.elapsed();
        accepted_in = Some(accept_time);
        eprintln!(
            "  backlog of {} accepted in {:.2}s; restarting as a delivering node",
            sent.accepted.load(Ordering::Relaxed),
            accept_time.as_secs_f64()
        );
        running.stop().await;
        let app = App::open(settings, None).await?;
        running = app::start(app).await?;
    }
    let drain_started = Instant::now();
    let app = running.app.clone();
    let mut rss_samples = Vec::new();
    let mut last_print = Instant::now();
    loop {
        let delivered = sink.count();
        let accepted = sent.accepted.load(Ordering::Relaxed);
        let failed = sent.failed.load(Ordering::Relaxed);
        if accepted_in.is_none() && accepted + failed >= args.emails {
            accepted_in = Some(started.elapsed());
        }
        if delivered + failed >= args.emails {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let rss = current_rss_mb();
            rss_samples.push(rss);
            let depth = accepted.saturating_sub(delivered);
            eprintln!(
                "  {:>5.1}s accepted={accepted} delivered={delivered} queue={depth} rss_mb={rss:.0}",
                started.elapsed().as_secs_f64()
            );
            if !args.backlog {
                rss_by_depth.push((depth, rss));
            }
        }
        if started.elapsed() > Duration::from_secs(3600) {
            anyhow::bail!("gave up after an hour: {delivered} delivered");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let drained = drain_started.elapsed();
    let delivered = sink.count();
    println!(
        "backend={} emails={} size={} concurrency={} delivery_concurrency={} backlog={}",
        app.db().backend_name(),
        args.emails,
        match args.size {
            Size::Small => "5k",
            Size::Large => "50k",
        },
        args.concurrency,
        args.delivery_concurrency,
        args.backlog
    );
    println!("loadavg_1min start={load_at_start} end={}", load_average());
    println!(
        "delivered={delivered} failed={} elapsed={:.2}s accepted_in={:.2}s message_bytes_avg={}",
        sent.failed.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        accepted_in.unwrap_or(elapsed).as_secs_f64(),
        sink.bytes() / delivered.max(1) as u64
    );
    if args.backlog {
        println!(
            "delivered_per_s={:.0} (draining the backlog: {:.2}s) accepted_per_s={:.0}",
            delivered as f64 / drained.as_secs_f64(),
            drained.as_secs_f64(),
            args.emails as f64 / accepted_in.unwrap_or(elapsed).as_secs_f64()
        );
    } else {
        println!(
            "delivered_per_s={:.0} (end to end, accepting and delivering at once)",
            delivered as f64 / elapsed.as_secs_f64()
        );
    }
    println!(
        "peak_rss_mb={:.1} (server, HTTP clients and sink in one process)",
        peak_rss_mb()
    );
    println!(
        "rss_mb_by_queue_depth={:?}",
        rss_by_depth
            .iter()
            .map(|(depth, rss)| (*depth, rss.round() as i64))
            .collect::<Vec<_>>()
    );
    println!(
        "rss_mb_per_second={:?}",
        rss_samples
            .iter()
            .map(|r| r.round() as i64)
            .collect::<Vec<_>>()
    );
    running.stop().await;
    sink.stop().await;
    Ok(())
}

/// Current resident memory of this process, from /proc.
fn current_rss_mb() -> f64 {
    proc_status_kb("VmRSS:") / 1024.0
}

fn proc_status_kb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

/// Peak resident memory of this process (server and clients together), from /proc.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
