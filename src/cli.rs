//! The `herald` command line. Operators script against these names: keep them stable.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::app::{self, App};
use crate::audience::imports::upload::{self as import_upload, ImportOptions};
use crate::audience::imports::{self, job as import_job};
use crate::auth::api_keys::{self, KeyInput};
use crate::auth::sessions::{self, Role};
use crate::auth::tokens::random_alphanumeric;
use crate::config::{EXAMPLE_CONFIG, Overrides, Settings};
use crate::teams;

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Self-hostable email platform that speaks Resend's API"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (default: ./herald.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder for the embedded SQLite database [env: HERALD_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of SQLite [env: DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, the dashboard and the background workers (the default command).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API keys.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// Manage dashboard users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage contacts (the Audience).
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Export a list of the first team as CSV (as the dashboard's Export buttons), with a
    /// progress bar.
    Export(ExportArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 [env: HERALD_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Outbound relay smtp://user:pass@host:port [env: HERALD_RELAY]
    #[arg(long, value_name = "URL")]
    pub relay: Option<String>,
    /// DNS server ip:port for look-ups [env: HERALD_DNS_SERVER]
    #[arg(long, value_name = "ADDR")]
    pub dns_server: Option<String>,
    /// Port used for delivery to MX hosts [env: HERALD_MX_PORT]
    #[arg(long, value_name = "N")]
    pub mx_port: Option<u16>,
    /// Public base URL used in links [env: HERALD_PUBLIC_URL]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create an API key and print its token (shown only this once).
    Create {
        /// Name of the key (at most 50 characters).
        #[arg(long)]
        name: String,
        /// full_access or sending_access.
        #[arg(long, default_value = "full_access")]
        permission: String,
        /// Restrict a sending key to this domain id.
        #[arg(long, value_name = "ID")]
        domain: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a dashboard user in the first team; prints a generated password unless given.
    Create {
        #[arg(long)]
        email: String,
        /// admin or member.
        #[arg(long, default_value = "member")]
        role: String,
        /// Password (at least 8 characters); generated when absent.
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Import contacts from a CSV file into the first team, with a progress bar. The file is
    /// stored and queued first: if this command is interrupted, a running `herald serve`
    /// resumes the import where it stopped (after the job lease, 5 minutes).
    Import {
        /// The CSV file (header row first, at most 50 MB).
        file: PathBuf,
        /// JSON mapping fields to header names, e.g.
        /// '{"email":"E-mail","first_name":"Name","properties":{"plan":"Plan"}}'.
        /// Without it, columns are matched by header name.
        #[arg(long, value_name = "JSON")]
        column_map: Option<String>,
        /// What to do with addresses that already exist: skip or upsert.
        #[arg(long, default_value = "skip", value_name = "MODE")]
        on_conflict: String,
        /// Add the imported contacts to this segment (repeatable).
        #[arg(long = "segment", value_name = "ID")]
        segments: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// emails, broadcasts, contacts, segments, domains, logs or api-keys.
    pub kind: String,
    /// A filter of the dashboard's list, NAME=VALUE (repeatable): emails take status, from,
    /// to, subject, since, until (YYYY-MM-DD), tag; contacts q, status, segment; broadcasts
    /// status; logs key, status (2xx/4xx/5xx), method, endpoint, since, until.
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    pub filters: Vec<String>,
    /// The CSV file to write.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the commented example configuration.
    Example,
    /// Load the configuration, report problems, print the result.
    Check,
}

fn settings(global: &GlobalArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Settings> {
    let mut overrides = Overrides {
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        ..Overrides::default()
    };
    if let Some(s) = serve {
        overrides.listen = s.listen;
        overrides.relay = s.relay.clone();
        overrides.dns_server = s.dns_server.clone();
        overrides.mx_port = s.mx_port;
        overrides.public_url = s.public_url.clone();
    }
    Settings::load(global.config.as_deref(), &overrides)
}

/// The team admin commands act on. On an empty database this is the first start: the
/// team, admin and key are created and their secrets printed (to stderr, keeping stdout for
/// the command's own output).
async fn first_team(app: &App) -> anyhow::Result<String> {
    if let Some(first) = teams::bootstrap(app).await.map_err(anyhow::Error::new)? {
        eprint!("{}", first_start_text(&first, &app.public_base_url()));
    }
    teams::first_team_id(app)
        .await?
        .context("no team exists; run `herald serve` once first")
}

fn first_start_text(first: &teams::FirstStart, base: &str) -> String {
    format!(
        "\nFirst start: a team, an admin and an API key were created. They are shown only once.\n\
         Dashboard: {base}/dashboard\n\
         Dashboard login: {}\n\
         Dashboard password: {}\n\
         API key:\n{}\n\n",
        first.admin_email, first.admin_password, first.api_key
    )
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(settings(&cli.global, Some(&args))?).await,
        Command::Migrate => {
            let app = App::open(settings(&cli.global, None)?, None).await?;
            println!("Migrations applied ({} database).", app.db().backend_name());
            Ok(())
        }
        Command::ApiKeys(ApiKeysCommand::Create {
            name,
            permission,
            domain,
        }) => {
            let app = App::open(settings(&cli.global, None)?, None).await?;
            let team = first_team(&app).await?;
            let input = KeyInput {
                name: Some(name),
                permission: Some(permission),
                domain_id: Some(domain),
            };
            let (key, token) = api_keys::create(&app, &team, input)
                .await
                .map_err(anyhow::Error::new)?;
            eprintln!(
                "Created API key {} ({}). The token is shown only once:",
                key.id, key.permission
            );
            println!("{token}");
            Ok(())
        }
        Command::Users(UsersCommand::Create {
            email,
            role,
            password,
        }) => {
            let app = App::open(settings(&cli.global, None)?, None).await?;
            let team = first_team(&app).await?;
            let role = Role::parse(&role).map_err(anyhow::Error::new)?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(|| random_alphanumeric(20));
            let user = sessions::create_user(&app, &team, &email, &password, role)
                .await
                .map_err(anyhow::Error::new)?;
            println!("Created {} user {}.", user.role, user.email);
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(())
        }
        Command::Contacts(ContactsCommand::Import {
            file,
            column_map,
            on_conflict,
            segments,
        }) => {
            let app = App::open(settings(&cli.global, None)?, None).await?;
            let team = first_team(&app).await?;
            let segments = serde_json::to_string(&segments)?;
            let options = ImportOptions {
                column_map,
                on_conflict: Some(on_conflict),
                segments: Some(segments),
                topics: None,
            };
            import_contacts(&app, &team, &file, &options).await
        }
        Command::Export(args) => {
            let app = App::open(settings(&cli.global, None)?, None).await?;
            let team = first_team(&app).await?;
            export(&app, &team, &args).await
        }
        Command::Config(ConfigCommand::Example) => {
            print!("{EXAMPLE_CONFIG}");
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let s = settings(&cli.global, None)?;
            println!("{}", toml::to_string_pretty(&s)?);
            // Secrets are never printed; say whether they are set.
            for (name, value) in [
                ("encryption_key", &s.encryption_key),
                ("metrics_token", &s.metrics_token),
            ] {
                let state = if value.is_empty() { "not set" } else { "set" };
                println!("# {name}: {state}");
            }
            for warning in crate::config::warnings(&s) {
                eprintln!("warning: {warning}");
            }
            Ok(())
        }
    }
}

/// Two glibc allocator settings, measured with `herald-bench relay` (docs/performance.md):
/// - Buffers of 256 KiB and more (a large email's body, its attachments, its message) are
///   mapped on their own and given back to the system when freed. glibc's default raises
///   that threshold as large buffers come and go (up to 32 MiB), after which they are carved
///   from per-thread heaps that keep the memory: a 39 MB email, read on one thread and
///   delivered on another, then held the process at about 240 MB instead of 175 MB.
/// - One heap (arena) per core instead of glibc's eight per core. Requests, deliveries and
///   SQLite's threads each allocate on one thread and free on another, and every extra arena
///   keeps its own freed memory: at 50 KB per message peak RSS was 209-214 MiB with the
///   default and 149-155 MiB with one arena per core, at the same rate.
pub fn tune_the_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets allocator parameters; `main` calls this before it starts
        // the runtime's threads.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // One open file per client connection: lift a low soft limit (see docs/architecture.md).
    let wanted = crate::http::listener::WANTED_OPEN_FILES;
    match crate::http::listener::raise_open_files_limit(wanted) {
        Ok(limit) if limit < 4_096 => tracing::warn!(
            limit,
            "the open files limit is low: at most about this many clients can stay connected"
        ),
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "cannot raise the open files limit"),
    }
    let app = App::open(settings, None).await?;
    let first = teams::bootstrap(&app).await.map_err(anyhow::Error::new)?;
    let running = app::start(app.clone()).await?;
    let base = app.public_base_url();
    println!(
        "Herald is listening on {} ({} database).",
        running.base_url(),
        app.db().backend_name()
    );
    println!("Dashboard: {base}/dashboard");
    if let Some(first) = first {
        println!();
        println!(
            "First start: a team, an admin and an API key were created. They are shown only once."
        );
        println!("Dashboard login: {}", first.admin_email);
        println!("Dashboard password: {}", first.admin_password);
        println!("API key:");
        println!("{}", first.api_key);
        println!();
    }
    let stop = running.shutdown_token();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
        _ = stop.cancelled() => {}
    }
    println!("Shutting down.");
    running.stop().await;
    Ok(())
}

async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            sig.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

/// `herald contacts import`: stores the file and queues the import (due only after a lease,
/// so a server takes it over only if this process dies), then runs it here with a progress
/// bar (hidden when stdout is not a terminal) and prints the counts.
async fn import_contacts(
    app: &App,
    team: &str,
    file: &std::path::Path,
    options: &ImportOptions,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    let reader = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().to_string());
    let run_at = app.now_ms() + crate::queue::LEASE_MS;
    let import = import_upload::from_reader(app, team, name, reader, options, run_at)
        .await
        .map_err(anyhow::Error::new)?;
    eprintln!("Import {} queued; importing…", import.id);

    let bar = ProgressBar::new(import.file_bytes as u64);
    if !std::io::stdout().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg} ({eta})",
    )?);
    let mut on_progress = |p: &import_job::Progress| {
        bar.set_position(p.bytes_done);
        bar.set_message(format!(
            "{} rows: {} created, {} updated, {} skipped, {} failed",
            p.rows_done, p.counts.created, p.counts.updated, p.counts.skipped, p.counts.failed
        ));
    };
    import_job::process(app, &import.id, &mut on_progress).await?;
    bar.finish_and_clear();
    // Done here: the queued job has nothing left to do.
    let job_key = format!("contact-import:{}", import.id);
    crate::store::sql::run(
        app.db(),
        &[crate::queue::finish_by_key(&job_key, app.now_ms())],
    )
    .await
    .map_err(anyhow::Error::new)?;

    let done = imports::get(app, team, &import.id)
        .await
        .map_err(anyhow::Error::new)?;
    println!(
        "Imported {}: {} rows, {} created, {} updated, {} skipped, {} failed.",
        file.display(),
        done.rows_done,
        done.created_count,
        done.updated_count,
        done.skipped_count,
        done.failed_count
    );
    for failure in imports::failures(app, &import.id, 20)
        .await
        .map_err(anyhow::Error::new)?
    {
        println!("  line {}: {}", failure.line, failure.reason);
    }
    if done.failed_count > 20 {
        println!("  … and {} more failed rows.", done.failed_count - 20);
    }
    Ok(())
}

/// `herald export`: the list of `KIND` with the given filters into `--output`, with a
/// progress line (hidden when stderr is not a terminal).
async fn export(app: &App, team: &str, args: &ExportArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    use crate::exports::Kind;

    let kind = Kind::parse(&args.kind).with_context(|| {
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind {:?}; one of: {}", args.kind, kinds.join(", "))
    })?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for filter in &args.filters {
        let (name, value) = filter
            .split_once('=')
            .with_context(|| format!("--filter {filter:?}: write NAME=VALUE"))?;
        if !kind.filter_names().contains(&name.trim()) {
            anyhow::bail!(
                "{} exports have no filter {name:?}; they take: {}",
                kind.as_str(),
                if kind.filter_names().is_empty() {
                    "none".to_string()
                } else {
                    kind.filter_names().join(", ")
                }
            );
        }
        query.append_pair(name.trim(), value);
    }
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let bar = ProgressBar::new_spinner();
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(ProgressStyle::with_template(
        "{spinner} {human_pos} rows written ({per_sec}, {elapsed})",
    )?);
    let mut on_progress = |rows: i64| bar.set_position(rows.max(0) as u64);
    let rows =
        crate::exports::job::write_to(app, team, kind, &query.finish(), &mut out, &mut on_progress)
            .await?;
    bar.finish_and_clear();
    println!(
        "Exported {rows} {} to {}.",
        kind.label().to_lowercase(),
        args.output.display()
    );
    Ok(())
}
