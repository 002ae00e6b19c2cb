//! `herald-bench relay`: delivery the way users run it, side by side with Postfix.
//!
//! Each run starts the real `herald` binary (`herald serve`, default settings, the relay
//! pointed at Postfix's counting `smtp-sink`) on a fresh database with one verified domain
//! (DKIM on), sends N emails through the HTTP API as the SDKs do (`POST /emails/batch` of
//! 100, or single `POST /emails`, from 4 clients) and waits until the sink has counted all
//! of them. In the same run, interleaved rep by rep, Postfix relays the same number of
//! messages of the same size to the same sink, without and with an OpenDKIM milter, using
//! the scripts of the Postfix side-by-side kit (`--postfix-bench DIR` or
//! `POSTFIX_BENCH_DIR`; they are not part of this repository). Printed per run:
//! messages/s end to end, peak RSS of the `herald` process, its CPU per message, storage
//! per message (while it runs, and at rest once it has stopped), and the 1-minute load
//! average; then medians and paired ratios to Postfix.
//!
//!   herald-bench relay --postfix-bench ../shared/bench --size 5k
//!   herald-bench relay --postfix-bench ../shared/bench --size 50k,500k,5m --database postgres
//!
//! Runs as root (the kit starts Postfix, OpenDKIM and smtp-sink). The machine is shared:
//! ratios measured in the same run say more than the rates themselves.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use clap::ValueEnum;
use herald::app::App;
use herald::config::Settings;
use serde_json::json;

use super::{Backend, body_text, deliver_setup, load_average};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum RelaySize {
    /// 5 KB of HTML.
    #[value(name = "5k")]
    K5,
    /// 50 KB of HTML (a newsletter).
    #[value(name = "50k")]
    K50,
    /// 5 KB of HTML and a 495 KB attachment.
    #[value(name = "500k")]
    K500,
    /// 5 KB of HTML and a 5 MB attachment.
    #[value(name = "5m")]
    M5,
}

impl RelaySize {
    fn name(self) -> &'static str {
        match self {
            RelaySize::K5 => "5k",
            RelaySize::K50 => "50k",
            RelaySize::K500 => "500k",
            RelaySize::M5 => "5m",
        }
    }
    /// Content bytes of one message: (html, attachment).
    fn parts(self) -> (usize, usize) {
        match self {
            RelaySize::K5 => (5 * 1024, 0),
            RelaySize::K50 => (50 * 1024, 0),
            RelaySize::K500 => (5 * 1024, 495 * 1024),
            RelaySize::M5 => (5 * 1024, 5 * 1024 * 1024 - 5 * 1024),
        }
    }
    fn bytes(self) -> usize {
        let (html, attachment) = self.parts();
        html + attachment
    }
    fn default_emails(self) -> usize {
        match self {
            RelaySize::K5 => 10_000,
            RelaySize::K50 => 2_000,
            RelaySize::K500 => 400,
            RelaySize::M5 => 60,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Api {
    /// Batches of 100 without attachments (5k, 50k), single sends with them (500k, 5m), as
    /// Resend's batch endpoint takes no attachments.
    Auto,
    Batch,
    Single,
}

#[derive(clap::Args)]
pub struct RelayArgs {
    /// Message sizes, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "5k")]
    size: Vec<RelaySize>,
    /// Messages per run (default: 10,000 at 5k, 2,000 at 50k, 400 at 500k, 60 at 5m).
    #[arg(long)]
    emails: Option<usize>,
    /// Runs of each setup, interleaved (Herald, Postfix, Postfix + OpenDKIM, Herald, …).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// HTTP clients sending to Herald.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    #[arg(long, value_enum, default_value_t = Api::Auto)]
    api: Api,
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    database: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// The Postfix side-by-side scripts (sink.sh, load.sh, postfix-relay.sh, dkim.sh).
    #[arg(long, env = "POSTFIX_BENCH_DIR")]
    postfix_bench: Option<PathBuf>,
    /// Measure Herald alone (still needs sink.sh for the counting sink).
    #[arg(long)]
    no_postfix: bool,
    /// State folder for the kit (queues, pid files, logs); on a real disk.
    #[arg(long, default_value = "/var/lib/mailbench-herald")]
    bench_state: PathBuf,
    /// Folder for Herald's data folders (SQLite); on a real disk, not tmpfs.
    #[arg(long, default_value = "/var/tmp")]
    work_dir: PathBuf,
    #[arg(long, default_value_t = 2726)]
    sink_port: u16,
    /// Postfix's plain listener; the OpenDKIM one is this + 1.
    #[arg(long, default_value_t = 2725)]
    postfix_port: u16,
    /// smtp-source sessions sending to Postfix (one connection per message).
    #[arg(long, default_value_t = 32)]
    postfix_concurrency: usize,
    /// The `herald` binary (default: next to this one).
    #[arg(long)]
    herald: Option<PathBuf>,
    /// Keep Herald's data folder / database after each run.
    #[arg(long)]
    keep: bool,
    /// Seconds a run may take before it is given up.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// A setting for `herald serve` as its environment variable, e.g.
    /// `--herald-env HERALD_DELIVERY__RELAY_CONNECTIONS=64` (repeatable): for sweeping
    /// settings against the defaults. Printed with the run's figures.
    #[arg(long = "herald-env", value_name = "NAME=VALUE", value_parser = parse_env_setting)]
    herald_env: Vec<(String, String)>,
}

/// The kit's scripts, run with our state folder and ports.
struct Kit {
    dir: PathBuf,
    state: PathBuf,
    sink_port: u16,
    postfix_port: u16,
    started: Vec<&'static str>,
}

impl Kit {
    fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.dir.join(name));
        let opendkim = self.state.join("opendkim");
        cmd.env("BENCH_STATE", &self.state)
            .env("DKIM_DIR", &opendkim)
            .env("DKIM_SOCKET", "unix")
            .env("RELAY_DIR", self.state.join("postfix-relay"))
            .env("RELAY_QUEUE_DIR", "")
            .env("RELAY_PORT", self.postfix_port.to_string())
            .env(
                "RELAY_MILTERS",
                format!(
                    "{}=unix:{}",
                    self.postfix_port + 1,
                    opendkim.join("opendkim.sock").display()
                ),
            )
            .env("RELAY_NEXTHOP", format!("[127.0.0.1]:{}", self.sink_port))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a script, returns its stdout (trimmed); fails with its stderr.
    fn run(&self, name: &str, args: &[&str]) -> anyhow::Result<String> {
        let out = self.script(name).args(args).output()?;
        if !out.status.success() {
            anyhow::bail!(
                "{name} {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Messages the sink has counted so far. Read from its counter log as `sink.sh count`
    /// does (the last complete `sess=S quit=Q mesg=M\r` record), without starting a shell
    /// and `tail` 20 times a second: that cost a few % of a core, taken from what is measured.
    fn sink_count(&self) -> anyhow::Result<usize> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.state.join(format!("sink-{}.log", self.sink_port));
        let Ok(mut file) = std::fs::File::open(&path) else {
            return Ok(self
                .run("sink.sh", &["count", &self.sink_port.to_string()])?
                .parse()?);
        };
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(256)))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        Ok(last_sink_count(&tail))
    }

    /// First number printed by `script cmd` (CPU ticks, PSS KiB).
    fn number(&self, name: &str, cmd: &str) -> u64 {
        self.run(name, &[cmd])
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    }
}

impl Drop for Kit {
    fn drop(&mut self) {
        for what in self.started.clone().into_iter().rev() {
            let result = match what {
                "sink" => self.run("sink.sh", &["stop", &self.sink_port.to_string()]),
                "postfix" => self.run("postfix-relay.sh", &["stop"]),
                "dkim" => self.run("dkim.sh", &["stop"]),
                _ => Ok(String::new()),
            };
            if let Err(err) = result {
                eprintln!("stopping {what}: {err}");
            }
        }
    }
}

/// One measured run.
#[derive(Clone, Default)]
struct Run {
    rate: f64,
    accept_rate: f64,
    /// Peak RSS (Herald) or peak PSS of the whole tree (Postfix), MiB.
    peak_mib: f64,
    cpu_ms_per_msg: f64,
    milter_cpu_ms_per_msg: f64,
    /// Bytes on disk per message while Herald runs (SQLite: with its write-ahead log).
    storage_per_msg: f64,
    /// The same once Herald has stopped (SQLite: the log checkpointed into the database and
    /// removed), which is what the messages keep taking.
    storage_at_rest_per_msg: f64,
    load_start: String,
    load_end: String,
    /// Cores' worth of CPU that other processes than Herald and this benchmark used during
    /// the run (from `/proc/stat`): the machine's own noise, or load a previous run left.
    others_cores: f64,
}

pub async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let Some(dir) = args.postfix_bench.clone() else {
        anyhow::bail!(
            "the Postfix side-by-side scripts are missing: pass --postfix-bench DIR or set \
             POSTFIX_BENCH_DIR to the folder holding sink.sh, load.sh, postfix-relay.sh and \
             dkim.sh (the counting sink comes from there even with --no-postfix)"
        );
    };
    for script in ["sink.sh", "load.sh", "postfix-relay.sh", "dkim.sh"] {
        if !dir.join(script).is_file() {
            anyhow::bail!(
                "{} is missing: --postfix-bench / POSTFIX_BENCH_DIR must name the folder of \
                 the Postfix side-by-side scripts",
                dir.join(script).display()
            );
        }
    }
    let herald_bin = match &args.herald {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("herald"),
    };
    if !herald_bin.is_file() {
        anyhow::bail!(
            "{} not found: build it (cargo build --release --bin herald) or pass --herald",
            herald_bin.display()
        );
    }
    std::fs::create_dir_all(&args.bench_state)?;
    let mut kit = Kit {
        dir,
        state: args.bench_state.clone(),
        sink_port: args.sink_port,
        postfix_port: args.postfix_port,
        started: Vec::new(),
    };
    let _ = kit.run("sink.sh", &["stop", &args.sink_port.to_string()]);
    kit.run("sink.sh", &["start", &args.sink_port.to_string()])?;
    kit.started.push("sink");
    if !args.no_postfix {
        let _ = kit.run("postfix-relay.sh", &["stop"]);
        let _ = kit.run("dkim.sh", &["stop"]);
        kit.run("dkim.sh", &["setup"])?;
        kit.run("dkim.sh", &["start"])?;
        kit.started.push("dkim");
        kit.run("postfix-relay.sh", &["setup"])?;
        kit.run("postfix-relay.sh", &["start"])?;
        kit.started.push("postfix");
        // Warm-up: start Postfix's processes and the milter connection.
        for port in [args.postfix_port, args.postfix_port + 1] {
            postfix_run(&kit, &args, port, 200, 5120, false).await?;
        }
    }
    let load_at_start = load_average();
    println!(
        "relay benchmark: backend={:?} clients={} api={:?} reps={} postfix_concurrency={} \
         loadavg_1min_start={load_at_start}",
        args.database, args.clients, args.api, args.reps, args.postfix_concurrency
    );
    for (name, value) in &args.herald_env {
        println!("herald setting: {name}={value}");
    }
    let mut summary = Vec::new();
    for &size in &args.size {
        let n = args.emails.unwrap_or(size.default_emails());
        let mut herald_runs = Vec::new();
        let mut postfix_runs = Vec::new();
        let mut dkim_runs = Vec::new();
        for rep in 1..=args.reps {
            let run = herald_run(&kit, &args, &herald_bin, size, n).await?;
            print_run("herald", size, rep, n, &run);
            herald_runs.push(run);
            if !args.no_postfix {
                let bytes = size.bytes();
                let run = postfix_run(&kit, &args, args.postfix_port, n, bytes, true).await?;
                print_run("postfix", size, rep, n, &run);
                postfix_runs.push(run);
                let run = postfix_run(&kit, &args, args.postfix_port + 1, n, bytes, true).await?;
                print_run("postfix+opendkim", size, rep, n, &run);
                dkim_runs.push(run);
            }
        }
        summary.push((size, n, herald_runs, postfix_runs, dkim_runs));
    }
    println!();
    println!(
        "summary ({:?}; medians over reps, ratios paired per rep; loadavg_1min start={load_at_start} end={})",
        args.database,
        load_average()
    );
    for (size, n, herald_runs, postfix_runs, dkim_runs) in summary {
        let med = |runs: &[Run], f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let ratio = |other: &[Run]| {
            if other.is_empty() {
                return "-".to_string();
            }
            let ratios: Vec<f64> = herald_runs
                .iter()
                .zip(other)
                .map(|(h, p)| h.rate / p.rate)
                .collect();
            format!(
                "{:.2}x ({:.2}-{:.2})",
                median(ratios.clone()),
                ratios.iter().cloned().fold(f64::INFINITY, f64::min),
                ratios.iter().cloned().fold(0.0, f64::max)
            )
        };
        println!(
            "size={} n={n} herald msg/s={:.0} postfix={:.0} postfix+opendkim={:.0} \
             herald/postfix={} herald/postfix+opendkim={} herald_peak_rss_mib={:.0} \
             herald_cpu_ms/msg={:.2} postfix_cpu_ms/msg={:.2} opendkim_cpu_ms/msg={:.2} \
             postfix_peak_pss_mib={:.0} storage_per_msg={:.0} B ({:.2}x content {} B) \
             at_rest={:.0} B ({:.2}x)",
            size.name(),
            med(&herald_runs, |r| r.rate),
            med(&postfix_runs, |r| r.rate),
            med(&dkim_runs, |r| r.rate),
            ratio(&postfix_runs),
            ratio(&dkim_runs),
            herald_runs.iter().map(|r| r.peak_mib).fold(0.0, f64::max),
            med(&herald_runs, |r| r.cpu_ms_per_msg),
            med(&postfix_runs, |r| r.cpu_ms_per_msg),
            med(&dkim_runs, |r| r.milter_cpu_ms_per_msg),
            postfix_runs.iter().map(|r| r.peak_mib).fold(0.0, f64::max),
            med(&herald_runs, |r| r.storage_per_msg),
            med(&herald_runs, |r| r.storage_per_msg) / size.bytes() as f64,
            size.bytes(),
            med(&herald_runs, |r| r.storage_at_rest_per_msg),
            med(&herald_runs, |r| r.storage_at_rest_per_msg) / size.bytes() as f64,
        );
    }
    Ok(())
}

fn print_run(setup: &str, size: RelaySize, rep: usize, n: usize, run: &Run) {
    let mut line = format!(
        "{setup:<17} size={:<4} rep={rep} n={n} msg/s={:.0} accept/s={:.0} peak_mib={:.0} \
         cpu_ms/msg={:.2}",
        size.name(),
        run.rate,
        run.accept_rate,
        run.peak_mib,
        run.cpu_ms_per_msg
    );
    if run.milter_cpu_ms_per_msg > 0.0 {
        line += &format!(" opendkim_cpu_ms/msg={:.2}", run.milter_cpu_ms_per_msg);
    }
    if run.storage_per_msg > 0.0 {
        line += &format!(
            " storage_per_msg={:.0} at_rest={:.0}",
            run.storage_per_msg, run.storage_at_rest_per_msg
        );
    }
    if run.others_cores > 0.0 {
        line += &format!(" others_cores={:.2}", run.others_cores);
    }
    println!("{line} loadavg_1min={}->{}", run.load_start, run.load_end);
}

/// The count in the last complete record of smtp-sink's `-c` log: records end with `\r`,
/// and one being written may follow the last of them.
fn last_sink_count(tail: &[u8]) -> usize {
    let text = String::from_utf8_lossy(tail);
    let complete = match text.rfind('\r') {
        Some(end) => &text[..end],
        None => return 0,
    };
    let record = complete.rsplit('\r').next().unwrap_or("");
    record
        .rsplit_once("mesg=")
        .map(|(_, n)| {
            n.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// smtp-source → Postfix (on `port`) → sink: `n` messages of `bytes` body bytes.
async fn postfix_run(
    kit: &Kit,
    args: &RelayArgs,
    port: u16,
    n: usize,
    bytes: usize,
    measure: bool,
) -> anyhow::Result<Run> {
    let dkim = port != args.postfix_port;
    let load_start = load_average();
    let c0 = kit.sink_count()?;
    let cpu0 = kit.number("postfix-relay.sh", "cpu");
    let milter0 = if dkim {
        kit.number("dkim.sh", "cpu")
    } else {
        0
    };
    let started = Instant::now();
    let mut loader = kit
        .script("load.sh")
        .args([
            port.to_string(),
            n.to_string(),
            bytes.to_string(),
            args.postfix_concurrency.to_string(),
            "new".into(),
            args.timeout.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut peak_pss = 0u64;
    let mut last_sample = Instant::now() - Duration::from_secs(1);
    let mut accepted_in = None;
    loop {
        if accepted_in.is_none() && loader.try_wait()?.is_some() {
            accepted_in = Some(started.elapsed());
        }
        if measure && last_sample.elapsed() >= Duration::from_secs(1) {
            last_sample = Instant::now();
            peak_pss = peak_pss.max(kit.number("postfix-relay.sh", "mem"));
        }
        if kit.sink_count()? >= c0 + n {
            break;
        }
        if started.elapsed() > Duration::from_secs(args.timeout) {
            anyhow::bail!("Postfix on port {port}: not all of {n} messages arrived in time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let output = loader.wait_with_output()?;
    let accepted_in = accepted_in.unwrap_or(elapsed);
    let ticks = clock_ticks_per_s();
    let per_msg = |t: u64| t as f64 * 1000.0 / ticks / n as f64;
    let cpu = kit.number("postfix-relay.sh", "cpu").saturating_sub(cpu0);
    let milter = if dkim {
        kit.number("dkim.sh", "cpu").saturating_sub(milter0)
    } else {
        0
    };
    if !output.status.success() {
        eprintln!("load.sh: {}", String::from_utf8_lossy(&output.stdout));
    }
    // Let Postfix's connection cache expire before the next run, as anchor.sh does.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(Run {
        rate: n as f64 / elapsed.as_secs_f64(),
        accept_rate: n as f64 / accepted_in.as_secs_f64(),
        peak_mib: peak_pss as f64 / 1024.0,
        cpu_ms_per_msg: per_msg(cpu),
        milter_cpu_ms_per_msg: per_msg(milter),
        storage_per_msg: 0.0,
        storage_at_rest_per_msg: 0.0,
        load_start,
        load_end: load_average(),
        others_cores: 0.0,
    })
}

/// The `herald serve` child; SIGTERM then SIGKILL when dropped.
struct HeraldProcess(Child);

impl HeraldProcess {
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn stop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        for _ in 0..100 {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for HeraldProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn proc_field_kb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0.0)
}

/// CPU time the whole machine spent busy (not idle, not waiting for I/O), in clock ticks.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let all: u64 = fields.iter().take(8).sum();
    all.saturating_sub(fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0))
}

/// utime + stime of this process, in clock ticks.
fn own_cpu_ticks() -> u64 {
    proc_cpu_ticks(std::process::id())
}

/// utime + stime of a process, in clock ticks.
fn proc_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, s)| s).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 0, utime 11, stime 12.
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn pg_size(url: &str) -> anyhow::Result<u64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    Ok(size as u64)
}

async fn drop_pg(server: &str, url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut conn = sqlx::PgConnection::connect(server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// One Herald run: fresh database, `herald serve`, N emails through the API, wait for the
/// sink to count them all.
async fn herald_run(
    kit: &Kit,
    args: &RelayArgs,
    herald_bin: &Path,
    size: RelaySize,
    n: usize,
) -> anyhow::Result<Run> {
    let data = tempfile::Builder::new()
        .prefix("herald-relay-bench-")
        .tempdir_in(&args.work_dir)?;
    let mut settings = Settings {
        data_dir: data.path().join("data"),
        ..Settings::default()
    };
    super::use_database(&mut settings, args.database, &args.pg_url).await?;
    let result = herald_measure(kit, args, herald_bin, size, n, data.path(), &settings).await;
    // The benchmark database goes whether the run worked or not (the data folder goes
    // with `data`).
    if args.database == Backend::Postgres {
        if args.keep {
            eprintln!("  kept database {}", settings.database_url);
        } else {
            drop_pg(&args.pg_url, &settings.database_url).await?;
        }
    }
    if args.keep {
        eprintln!("  kept {}", data.keep().display());
    }
    result
}

/// Sets up `settings`' database, runs `herald serve` on it and measures one run.
async fn herald_measure(
    kit: &Kit,
    args: &RelayArgs,
    herald_bin: &Path,
    size: RelaySize,
    n: usize,
    folder: &Path,
    settings: &Settings,
) -> anyhow::Result<Run> {
    // The team, its API key and the verified domain (with its DKIM key) are made here,
    // as `herald-bench deliver` does, before the binary opens the same database.
    let app = App::open(settings.clone(), None).await?;
    let key = deliver_setup(&app).await?;
    app.db().close().await;
    drop(app);
    let base_size = match args.database {
        Backend::Sqlite => dir_bytes(&settings.data_dir),
        Backend::Postgres => pg_size(&settings.database_url).await?,
    };

    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let single = match args.api {
        Api::Single => true,
        Api::Batch => false,
        Api::Auto => size.parts().1 > 0,
    };
    let mut cmd = Command::new(herald_bin);
    // Herald refuses HERALD_* variables it does not know: pass on none of ours.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HERALD_") || name == "DATABASE_URL" {
            cmd.env_remove(name);
        }
    }
    cmd.arg("serve")
        .current_dir(folder)
        .env("HERALD_LISTEN", listen.to_string())
        .env("HERALD_DATA_DIR", &settings.data_dir)
        .env(
            "HERALD_RELAY",
            format!("smtp://127.0.0.1:{}", kit.sink_port),
        )
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(folder.join("herald.log"))?)
        .stderr(std::fs::File::create(folder.join("herald.err"))?);
    for (name, value) in &args.herald_env {
        cmd.env(name, value);
    }
    if single {
        // One request per email: the default 100 requests/s per team would be the limit.
        cmd.env("HERALD_RATE_LIMIT", "1000000");
    }
    if !settings.database_url.is_empty() {
        cmd.env("DATABASE_URL", &settings.database_url)
            .env("HERALD_ENCRYPTION_KEY", &settings.encryption_key);
    }
    let mut herald = HeraldProcess(cmd.spawn()?);
    let pid = herald.pid();
    let base = format!("http://{listen}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let ready_by = Instant::now() + Duration::from_secs(60);
    loop {
        // Any answer will do: the server is up.
        if client.get(format!("{base}/")).send().await.is_ok() {
            break;
        }
        if let Ok(Some(status)) = herald.0.try_wait() {
            let err = std::fs::read_to_string(folder.join("herald.err")).unwrap_or_default();
            let tail: Vec<&str> = err.lines().rev().take(20).collect();
            anyhow::bail!(
                "herald exited ({status}); its last lines:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if Instant::now() > ready_by {
            anyhow::bail!("herald did not answer HTTP within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (html_bytes, attachment_bytes) = size.parts();
    let text = body_text(html_bytes.saturating_sub(200));
    let html: Arc<str> = format!(
        "<html><body><p>{}</p></body></html>",
        text.replace('\n', "<br>\n")
    )
    .into();
    let attachment: Option<Arc<str>> = (attachment_bytes > 0).then(|| {
        // Incompressible bytes, like a PDF or an image.
        let mut bytes = vec![0u8; attachment_bytes];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for b in bytes.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into()
    });

    let load_start = load_average();
    let c0 = kit.sink_count()?;
    let cpu0 = proc_cpu_ticks(pid);
    let (busy0, own0) = (machine_busy_ticks(), own_cpu_ticks());
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    for _ in 0..args.clients {
        let (client, base, key, next, accepted, failed, html, attachment) = (
            client.clone(),
            base.clone(),
            key.clone(),
            next.clone(),
            accepted.clone(),
            failed.clone(),
            html.clone(),
            attachment.clone(),
        );
        tokio::spawn(async move {
            let email = |i: usize| {
                let mut email = json!({
                    "from": "Bench <bench@bench.example>",
                    "to": [format!("user{i}@example.com")],
                    "subject": format!("Benchmark {i}"),
                    "html": &*html,
                });
                if let Some(content) = &attachment {
                    email["attachments"] =
                        json!([{"filename": "report.pdf", "content": &**content}]);
                }
                email
            };
            let per_request = if single { 1 } else { 100 };
            loop {
                let first = next.fetch_add(per_request, Ordering::Relaxed);
                if first >= n {
                    break;
                }
                let count = per_request.min(n - first);
                let (url, body) = if single {
                    (format!("{base}/emails"), email(first))
                } else {
                    (
                        format!("{base}/emails/batch"),
                        serde_json::Value::Array((first..first + count).map(email).collect()),
                    )
                };
                let resp = client
                    .post(url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body).expect("JSON"))
                    .send()
                    .await;
                match resp {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        accepted.fetch_add(count, Ordering::Relaxed);
                    }
                    Ok(resp) => {
                        if failed.fetch_add(count, Ordering::Relaxed) == 0 {
                            eprintln!(
                                "request failed: {} {}",
                                resp.status(),
                                resp.text().await.unwrap_or_default()
                            );
                        }
                    }
                    Err(err) => {
                        if failed.fetch_add(count, Ordering::Relaxed) == 0 {
                            eprintln!("request error: {err}");
                        }
                    }
                }
            }
        });
    }
    let mut accepted_in = None;
    let mut last_print = Instant::now();
    loop {
        let delivered = kit.sink_count()?.saturating_sub(c0);
        let (ok, bad) = (
            accepted.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        );
        if accepted_in.is_none() && ok + bad >= n {
            accepted_in = Some(started.elapsed());
        }
        if delivered + bad >= n {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            eprintln!(
                "  herald {:>5.1}s accepted={ok} delivered={delivered} rss_mib={:.0}",
                started.elapsed().as_secs_f64(),
                proc_field_kb(pid, "VmRSS:") / 1024.0
            );
        }
        if started.elapsed() > Duration::from_secs(args.timeout) {
            anyhow::bail!(
                "herald: {delivered} of {n} delivered after {} s",
                args.timeout
            );
        }
        if let Ok(Some(status)) = herald.0.try_wait() {
            anyhow::bail!("herald exited during the run ({status})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let bad = failed.load(Ordering::Relaxed);
    if bad > 0 {
        eprintln!("  {bad} emails were refused");
    }
    let cpu = proc_cpu_ticks(pid).saturating_sub(cpu0);
    let others = machine_busy_ticks()
        .saturating_sub(busy0)
        .saturating_sub(cpu)
        .saturating_sub(own_cpu_ticks().saturating_sub(own0));
    let peak_mib = proc_field_kb(pid, "VmHWM:") / 1024.0;
    let load_end = load_average();
    let stored = match args.database {
        Backend::Sqlite => dir_bytes(&settings.data_dir),
        Backend::Postgres => pg_size(&settings.database_url).await?,
    };
    herald.stop();
    let at_rest = match args.database {
        Backend::Sqlite => dir_bytes(&settings.data_dir),
        Backend::Postgres => pg_size(&settings.database_url).await?,
    };
    let delivered = n - bad;
    Ok(Run {
        rate: delivered as f64 / elapsed.as_secs_f64(),
        accept_rate: n as f64 / accepted_in.unwrap_or(elapsed).as_secs_f64(),
        peak_mib,
        cpu_ms_per_msg: cpu as f64 * 1000.0 / clock_ticks_per_s() / delivered.max(1) as f64,
        milter_cpu_ms_per_msg: 0.0,
        storage_per_msg: stored.saturating_sub(base_size) as f64 / delivered.max(1) as f64,
        storage_at_rest_per_msg: at_rest.saturating_sub(base_size) as f64 / delivered.max(1) as f64,
        load_start,
        load_end,
        others_cores: others as f64 / clock_ticks_per_s() / elapsed.as_secs_f64(),
    })
}

fn parse_env_setting(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if name.starts_with("HERALD_") || name == "DATABASE_URL" => {
            Ok((name.to_string(), value.to_string()))
        }
        _ => Err(format!("{arg:?}: expected HERALD_NAME=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::last_sink_count;

    #[test]
    fn reads_the_sink_count_of_the_last_complete_record() {
        assert_eq!(last_sink_count(b""), 0);
        assert_eq!(last_sink_count(b"sess=1 quit=0 mesg=7\r"), 7);
        assert_eq!(
            last_sink_count(b"sess=2 quit=1 mesg=19\rsess=2 quit=1 mesg=20\rsess=2 qu"),
            20
        );
        assert_eq!(last_sink_count(b"=20\rsess=3 quit=1 mesg=205\r"), 205);
        assert_eq!(last_sink_count(b"mesg=2"), 0);
    }
}
