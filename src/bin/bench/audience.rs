//! Audience benchmarks, started from `herald-bench`:
//!
//!   herald-bench import --rows 1000000 [--database postgres]
//!     generates a CSV file of N contacts (on disk), stores it as an import would be stored
//!     and processes it as the worker does; prints rows/s and the peak memory of the process.
//!
//!   herald-bench contacts-page --contacts 1000000 [--database postgres]
//!     fills a list of N contacts, then times `GET /contacts?limit=100` over HTTP at several
//!     depths (keyset pagination: the time should not grow with the depth).

use std::io::Write;
use std::time::Instant;

use herald::app::{self, App};
use herald::audience::imports::{self, upload::ImportOptions};
use herald::config::Settings;

use super::{Backend, peak_rss_mb};

#[derive(clap::Args)]
pub struct ImportArgs {
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Also add every contact to a segment (one membership and one history event per row).
    #[arg(long)]
    segment: bool,
}

/// A team's list of contacts and the database that holds it (`contacts-page`, `export`).
#[derive(clap::Args)]
pub struct ListArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub contacts: usize,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    pub database: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub pg_url: String,
}

#[derive(clap::Args)]
pub struct ContactsPageArgs {
    #[command(flatten)]
    list: ListArgs,
    /// Requests timed at each depth.
    #[arg(long, default_value_t = 50)]
    repeat: usize,
}

/// The benchmark's own PostgreSQL database, dropped when it is done.
pub(super) async fn drop_database(app: &App, pg_url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = app.settings().database_url.clone();
    app.db().close().await;
    if let Some((_, name)) = url.rsplit_once('/').filter(|_| app.db().is_postgres()) {
        let mut conn = sqlx::PgConnection::connect(pg_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn open(
    database: Backend,
    pg_url: &str,
    dir: &std::path::Path,
) -> anyhow::Result<(App, String)> {
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_path_buf(),
        rate_limit: 1_000_000,
        ..Settings::default()
    };
    super::use_database(&mut settings, database, pg_url).await?;
    let app = App::open(settings, None).await?;
    let first = super::first_start(&app).await?;
    Ok((app, first.team_id))
}

/// Writes `rows` contacts to a CSV file (about 40 bytes a row, so 1M rows fit the 50 MB
/// limit), one bad row in 1,000.
fn write_csv(path: &std::path::Path, rows: usize) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "email,first_name,last_name,plan,age")?;
    for i in 0..rows {
        if i % 1000 == 999 {
            writeln!(out, "broken-{i},Bad,Row,free,1")?;
        } else {
            let plan = if i % 3 == 0 { "pro" } else { "free" };
            writeln!(out, "u{i}@example.com,F{i},L{i},{plan},{}", i % 90)?;
        }
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (app, team) = open(args.database, &args.pg_url, dir.path()).await?;
    let file = dir.path().join("contacts.csv");
    let bytes = write_csv(&file, args.rows)?;
    for (key, kind) in [("plan", "string"), ("age", "number")] {
        herald::audience::properties::create(
            &app,
            &team,
            herald::audience::properties::NewProperty {
                key: Some(key.into()),
                kind: Some(kind.into()),
                fallback_value: None,
            },
        )
        .await?;
    }
    let mut options = ImportOptions::default();
    if args.segment {
        let segment = herald::audience::segments::create(
            &app,
            &team,
            herald::audience::segments::NewSegment {
                name: Some("Bench".into()),
                ..Default::default()
            },
        )
        .await?;
        options.segments = Some(serde_json::to_string(&[segment.id])?);
    }

    let started = Instant::now();
    let reader = tokio::fs::File::open(&file).await?;
    let import = imports::upload::from_reader(
        &app,
        &team,
        None,
        reader,
        &options,
        app.now_ms() + 3_600_000,
    )
    .await?;
    let stored = started.elapsed();
    let processing = Instant::now();
    imports::job::process(&app, &import.id, &mut |_| {}).await?;
    let processed = processing.elapsed();
    let done = imports::get(&app, &team, &import.id).await?;
    println!(
        "backend={} rows={} file_mb={:.1} segment={}",
        app.db().backend_name(),
        args.rows,
        bytes as f64 / 1e6,
        args.segment
    );
    println!(
        "counts: total={} created={} skipped={} failed={}",
        done.rows_done, done.created_count, done.skipped_count, done.failed_count
    );
    println!(
        "upload_stored={:.2}s processing={:.2}s import_rows_per_s={:.0} end_to_end_rows_per_s={:.0}",
        stored.as_secs_f64(),
        processed.as_secs_f64(),
        args.rows as f64 / processed.as_secs_f64(),
        args.rows as f64 / started.elapsed().as_secs_f64()
    );
    println!("peak_rss_mb={:.1}", peak_rss_mb());
    drop_database(&app, &args.pg_url).await
}

/// Fills the contact list quickly with generated rows (one statement per 100k rows).
pub(super) async fn fill(app: &App, team: &str, contacts: usize) -> anyhow::Result<()> {
    const STEP: usize = 100_000;
    let base = app.now_ms() - contacts as i64;
    for start in (0..contacts).step_by(STEP) {
        let end = (start + STEP).min(contacts);
        // Bench-only bulk fill; the dialects generate series differently.
        let sql = if app.db().is_postgres() {
            "INSERT INTO contacts (id, team_id, email, email_lower, first_name, unsubscribed, properties, created_at, updated_at) \
             SELECT md5(i::text)::uuid::text, $1, 'user' || i || '@example.com', 'user' || i || '@example.com', 'F' || i, FALSE, '{}', $2 + i, $2 + i \
             FROM generate_series($3::bigint, $4::bigint) AS i"
        } else {
            "WITH RECURSIVE n(i) AS (SELECT $3 UNION ALL SELECT i + 1 FROM n WHERE i < $4) \
             INSERT INTO contacts (id, team_id, email, email_lower, first_name, unsubscribed, properties, created_at, updated_at) \
             SELECT lower(hex(randomblob(16))), $1, 'user' || i || '@example.com', 'user' || i || '@example.com', 'F' || i, FALSE, '{}', $2 + i, $2 + i FROM n"
        };
        herald::on_db!(app.db(), |pool| sqlx::query(sql)
            .bind(team)
            .bind(base)
            .bind(start as i64)
            .bind(end as i64 - 1)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    }
    if app.db().is_postgres() {
        herald::on_db!(app.db(), |pool| sqlx::query("ANALYZE contacts")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    } else {
        herald::on_db!(app.db(), |pool| sqlx::query("ANALYZE")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// A fresh database (see [`open`]) whose team has `contacts` contacts; prints how long
/// filling it took.
pub(super) async fn filled(
    list: &ListArgs,
    dir: &std::path::Path,
) -> anyhow::Result<(App, String)> {
    let contacts = list.contacts;
    let (app, team) = open(list.database, &list.pg_url, dir).await?;
    let filling = Instant::now();
    fill(&app, &team, contacts).await?;
    println!(
        "backend={} contacts={contacts} filled in {:.1}s",
        app.db().backend_name(),
        filling.elapsed().as_secs_f64()
    );
    Ok((app, team))
}

pub async fn contacts_page(args: ContactsPageArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (app, team) = filled(&args.list, dir.path()).await?;
    let key = herald::auth::api_keys::create(
        &app,
        &team,
        herald::auth::api_keys::KeyInput {
            name: Some("bench".into()),
            ..Default::default()
        },
    )
    .await?
    .1;
    let running = app::start(app.clone()).await?;
    let client = reqwest::Client::new();
    let base = running.base_url();

    let depths: Vec<usize> = [
        0,
        1_000,
        100_000,
        args.list.contacts / 2,
        args.list.contacts.saturating_sub(200),
    ]
    .into_iter()
    .filter(|d| *d < args.list.contacts)
    .collect();
    for depth in depths {
        // The cursor: the contact at this depth, newest first.
        let cursor: Option<String> = if depth == 0 {
            None
        } else {
            Some(herald::on_db!(app.db(), |pool| {
                sqlx::query_scalar(
                "SELECT id FROM contacts WHERE team_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2"
            )
            .bind(&team)
            .bind(depth as i64 - 1)
            .fetch_one(pool)
            .await
            })?)
        };
        let url = match &cursor {
            None => format!("{base}/contacts?limit=100"),
            Some(id) => format!("{base}/contacts?limit=100&after={id}"),
        };
        let mut times = Vec::new();
        for _ in 0..args.repeat {
            let sent = Instant::now();
            let resp = client.get(&url).bearer_auth(&key).send().await?;
            anyhow::ensure!(resp.status().is_success(), "GET {url}: {}", resp.status());
            let body: serde_json::Value = resp.json().await?;
            times.push(sent.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(
                body["data"].as_array().map(|d| d.len()) == Some(100),
                "a full page"
            );
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "depth={depth:>8} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            times[times.len() / 2],
            times[(times.len() * 99 / 100).min(times.len() - 1)],
            times[times.len() - 1]
        );
    }
    println!("peak_rss_mb={:.1}", peak_rss_mb());
    running.stop().await;
    drop_database(&app, &args.list.pg_url).await
}
