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

use std::sync::Arc;
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
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Accept(args) => accept(args).await,
        Command::Import(args) => audience_bench::import(args).await,
        Command::ContactsPage(args) => audience_bench::contacts_page(args).await,
    }
}

#[path = "bench/audience.rs"]
mod audience_bench;
use audience_bench::{ContactsPageArgs, ImportArgs};

async fn fresh_postgres(server: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!("herald_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let (prefix, _) = server.rsplit_once('/').unwrap_or((server, ""));
    Ok(format!("{prefix}/{name}"))
}

async fn accept(args: AcceptArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        rate_limit: 1_000_000,
        ..Settings::default()
    };
    if args.database == Backend::Postgres {
        settings.database_url = fresh_postgres(&args.pg_url).await?;
    }
    let app = App::open(settings, None).await?;
    let first = herald::teams::bootstrap(&app)
        .await?
        .ok_or_else(|| anyhow::anyhow!("fresh database did not bootstrap"))?;
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
