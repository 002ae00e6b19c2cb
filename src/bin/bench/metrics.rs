//! `herald-bench metrics --events 10000000 [--database postgres]`: fills a team with N email
//! events (five per email: queued, sent, delivered and some opens and bounces, spread over
//! the last 30 days, from four sender domains), seals the hourly rollup, and times
//! `GET /emails/metrics` the way the dashboard and the SDKs ask it (median of 5 runs each).
//! The fill is written straight into the tables (it is not what is measured).

use std::time::Instant;

use herald::app::App;
use herald::config::Settings;
use herald::store::sql::{self, Arg, Placeholders};

use super::{Backend, load_average, peak_rss_mb, text};

#[derive(clap::Args)]
pub struct MetricsArgs {
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

const DAY: i64 = 86_400_000;
const DOMAINS: [&str; 4] = ["a.example", "b.example", "c.example", "d.example"];

async fn fill(app: &App, team: &str, events: usize) -> anyhow::Result<()> {
    const CHUNK: usize = 1_000;
    let now = app.now_ms();
    let emails = events.div_ceil(5);
    let span = 30 * DAY;
    let mut i = 0;
    while i < emails {
        let end = (i + CHUNK).min(emails);
        let rows: Vec<(String, i64, &str)> = (i..end)
            .map(|k| {
                let at = now - span + (k as i64 * span / emails as i64);
                (herald::store::new_id(), at, DOMAINS[k % DOMAINS.len()])
            })
            .collect();
        let mut evs: Vec<(String, &'static str, String, i64)> = Vec::with_capacity(rows.len() * 5);
        for (n, (id, at, _)) in rows.iter().enumerate() {
            let k = i + n;
            evs.push((id.clone(), "queued", "{}".into(), *at));
            evs.push((id.clone(), "sent", "{}".into(), at + 1_000));
            if k % 50 == 0 {
                evs.push((
                    id.clone(),
                    "bounced",
                    r#"{"bounce":{"type":"Permanent"}}"#.into(),
                    at + 2_000,
                ));
            } else {
                evs.push((id.clone(), "delivered", "{}".into(), at + 2_000));
            }
            evs.push((id.clone(), "opened", "{}".into(), at + 60_000));
            evs.push((id.clone(), "opened", "{}".into(), at + 120_000));
        }
        let emails = rows
            .iter()
            .map(|(id, at, domain)| {
                vec![
                    text(id),
                    text(team),
                    text(format!("News <news@{domain}>")),
                    text(r#"["reader@example.com"]"#),
                    text("[]"),
                    text("[]"),
                    text("[]"),
                    text("Hello"),
                    text("{}"),
                    text("[]"),
                    text("opened"),
                    text(format!("<{id}@bench>")),
                    Arg::Int(*at),
                    Arg::Int(*at),
                ]
            })
            .collect();
        let events = evs
            .into_iter()
            .map(|(email, kind, data, at)| {
                vec![
                    text(herald::store::new_id()),
                    text(email),
                    text(team),
                    text(kind),
                    text("reader@example.com"),
                    text(data),
                    Arg::Int(at),
                ]
            })
            .collect();
        let style = Placeholders::of(app.db());
        let mut stmts = sql::bulk_insert(
            style,
            "INSERT INTO emails (id, team_id, from_address, to_addresses, cc_addresses, \
             bcc_addresses, reply_to, subject, headers, tags, last_event, message_id, \
             created_at, updated_at)",
            emails,
            "",
        );
        stmts.extend(sql::bulk_insert(
            style,
            "INSERT INTO email_events (id, email_id, team_id, type, recipient, data, created_at)",
            events,
            "",
        ));
        sql::run(app.db(), &stmts).await?;
        i = end;
        if i % 100_000 < CHUNK {
            eprintln!("  {} events written", i * 5);
        }
    }
    Ok(())
}

/// The median of five runs of `query`, in milliseconds, and its answer's size.
async fn time(
    app: &App,
    team: &str,
    params: herald::metrics::Params,
) -> anyhow::Result<(f64, usize)> {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let request = herald::metrics::Request::from_params(&params, app.now_ms())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = herald::metrics::report(app, team, request)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        rows = report.rows.len();
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok((times[2], rows))
}

pub async fn metrics(args: MetricsArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        regions: Vec::new(),
        ..Settings::default()
    };
    super::use_database(&mut settings, args.database, &args.pg_url).await?;
    let app = App::open(settings, None).await?;
    let first = super::first_start(&app).await?;
    let team = first.team_id;
    let load_at_start = load_average();
    let started = Instant::now();
    fill(&app, &team, args.events).await?;
    let filled = started.elapsed();
    let started = Instant::now();
    let mut hours = 0;
    loop {
        let n = herald::metrics::rollup::seal(&app, app.now_ms(), 24 * 7)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        hours += n;
        if n == 0 {
            break;
        }
    }
    let sealed = started.elapsed();
    println!(
        "backend={} events={} (filled in {:.1}s)",
        app.db().backend_name(),
        args.events,
        filled.as_secs_f64()
    );
    println!(
        "rollup: {hours} hours sealed in {:.1}s ({:.0} events/s)",
        sealed.as_secs_f64(),
        args.events as f64 / sealed.as_secs_f64()
    );
    let month_ago = jiff::Timestamp::from_millisecond(app.now_ms() - 30 * DAY)?
        .strftime("%Y-%m-%d")
        .to_string();
    let p = |f: &dyn Fn(&mut herald::metrics::Params)| {
        let mut params = herald::metrics::Params::default();
        f(&mut params);
        params
    };
    let questions: Vec<(&str, herald::metrics::Params)> = vec![
        ("last 7 days, totals (the default)", p(&|_| {})),
        (
            "last 30 days by day and domain",
            p(&|q| {
                q.start_date = Some(month_ago.clone());
                q.dimensions = vec!["period,domain".into()];
            }),
        ),
        (
            "last 7 days by hour, New York",
            p(&|q| {
                q.dimensions = vec!["period".into()];
                q.granularity = Some("hourly".into());
                q.timezone = Some("America/New_York".into());
            }),
        ),
        (
            "last 30 days by week",
            p(&|q| {
                q.start_date = Some(month_ago.clone());
                q.dimensions = vec!["period".into()];
                q.granularity = Some("weekly".into());
            }),
        ),
    ];
    for (name, params) in questions {
        let (ms, rows) = time(&app, &team, params).await?;
        println!("query \"{name}\": median {ms:.1} ms ({rows} rows)");
    }
    println!("loadavg_1min start={load_at_start} end={}", load_average());
    println!("peak_rss_mb={:.1}", peak_rss_mb());
    Ok(())
}
