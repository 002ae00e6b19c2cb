#![allow(dead_code)] // shared harness: each test module uses a different part of it
//! Starts a real Herald on a random port with a fresh database: SQLite in a temporary
//! folder, or a new PostgreSQL database when `HERALD_TEST_DATABASE=postgres`
//! (server from `HERALD_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).

use std::sync::Arc;

use herald::app::{self, App, Running};
use herald::clock::{ManualClock, SharedClock};
use herald::config::Settings;
use reqwest::Method;
use serde_json::Value;

/// A fixed start for manual clocks (2026-03-10 12:00 UTC), so dates on pages are stable.
pub const START_MS: i64 = 1_773_144_000_000;
/// An hour and a day in milliseconds.
pub const HOUR: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR;

pub struct TestApp {
    pub base: String,
    /// A full-access key of the first team.
    pub key: String,
    pub admin_email: String,
    pub admin_password: String,
    pub app: App,
    pub client: reqwest::Client,
    /// A test that ends, passed or failed, stops its server (dropping [`Running`] tells it to)
    /// and then drops its database and folder: fields drop in this order. Tests call `stop`
    /// only to stop a server in the middle of a test.
    running: Option<Running>,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

pub fn using_postgres() -> bool {
    std::env::var("HERALD_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

fn postgres_server() -> String {
    std::env::var("HERALD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The database one test runs on: empty `url` on SQLite (Herald's file in its data folder), or
/// a new PostgreSQL database under `HERALD_TEST_DATABASE=postgres`, dropped with `DROP
/// DATABASE … WITH (FORCE)` when this value is, so a test that fails or panics leaves
/// nothing behind either.
pub struct TestDatabase {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn new() -> Self {
        if !using_postgres() {
            return Self {
                url: String::new(),
                pg_name: None,
            };
        }
        use sqlx::Connection;
        let server = postgres_server();
        let name = format!("herald_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&server)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let (prefix, _) = server.rsplit_once('/').expect("database URL has a path");
        Self {
            url: format!("{prefix}/{name}"),
            pg_name: Some(name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime (often a current-thread one, which cannot be
        // blocked on): the statement runs on a thread and runtime of its own.
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_server()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        });
        let _ = dropped.join();
    }
}

pub struct Options {
    pub clock: Option<SharedClock>,
    pub rate_limit: u32,
    pub allow_private_urls: bool,
    /// Last word on the settings (e.g. `dns_server` pointing at a test DNS server).
    pub configure: Option<Configure>,
}

pub type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: None,
            rate_limit: 10_000,
            allow_private_urls: true,
            configure: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with_clock(clock: Arc<ManualClock>) -> TestApp {
    spawn_app_with(Options {
        clock: Some(clock),
        ..Options::default()
    })
    .await
}

/// Herald's errors go to the test's captured output (shown when the test fails): a 500 in a
/// test then says which query failed. `RUST_LOG` widens it.
fn capture_server_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("herald=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    capture_server_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        rate_limit: options.rate_limit,
        allow_private_urls: options.allow_private_urls,
        // Tests never use the network: DNS goes to a closed local port unless a test points
        // it at its own server, so deliveries to real-looking domains fail fast, locally.
        dns_server: "127.0.0.1:9".to_string(),
        ..Settings::default()
    };
    // Nor do they fetch BIMI logos from the addresses their records name (tests opt in).
    settings.domains.check_bimi_logo = false;
    let database = TestDatabase::new().await;
    if using_postgres() {
        settings.database_url = database.url.clone();
        // PostgreSQL installations must configure the at-rest encryption key.
        settings.encryption_key = "42".repeat(32);
    }
    if let Some(configure) = options.configure {
        configure(&mut settings);
    }
    let app = App::open(settings, options.clock).await.expect("open app");
    let first = herald::teams::bootstrap(&app)
        .await
        .expect("bootstrap")
        .expect("fresh database bootstraps");
    let running = app::start(app.clone()).await.expect("start");
    TestApp {
        base: running.base_url(),
        key: first.api_key,
        admin_email: first.admin_email,
        admin_password: first.admin_password,
        app,
        client: reqwest::Client::new(),
        running: Some(running),
        _database: database,
        _dir: dir,
    }
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request with the test key; `body` `None` sends no body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_with_key(&self.key.clone(), method, path, body)
            .await
    }

    pub async fn call_with_key(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Runs every due job of every kind until none is left.
    pub async fn run_pending_jobs(&self) -> usize {
        let mut total = 0;
        let worker = herald::queue::new_worker_id();
        loop {
            let mut ran = 0;
            for job in self.app.job_kinds().kinds() {
                ran += herald::queue::worker::run_due(&self.app, job.kind, &job.handler, &worker)
                    .await
                    .expect("run jobs");
            }
            if ran == 0 {
                return total;
            }
            total += ran;
        }
    }

    /// Where the feedback SMTP listener listens (set `feedback_listen` to start it).
    pub fn feedback_addr(&self) -> std::net::SocketAddr {
        self.running
            .as_ref()
            .and_then(|r| r.feedback_addr)
            .expect("the feedback listener runs (feedback_listen set)")
    }

    /// Stops the server now, letting workers finish their current job (dropping the
    /// `TestApp` at the end of a test does the rest).
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

pub async fn read(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Asserts Resend's error body: exactly `statusCode`, `message`, `name`.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, name: &str) {
    assert_eq!(reply.status, status, "status of {}", reply.body);
    assert_eq!(reply.body["statusCode"], status, "{}", reply.body);
    assert_eq!(reply.body["name"], name, "{}", reply.body);
    assert!(reply.body["message"].is_string(), "{}", reply.body);
    assert_eq!(
        reply.body.as_object().map(|o| o.len()),
        Some(3),
        "{}",
        reply.body
    );
}
