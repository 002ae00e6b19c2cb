//! The running application: settings, database, clock and the shared in-process parts.
//! [`App`] is cheap to clone; the HTTP handlers, dashboard, workers and CLI all use it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::api_keys::AuthKey;
use crate::clock::{Millis, SharedClock, SystemClock};
use crate::config::Settings;
use crate::http::rate_limit::RateLimiter;
use crate::http::request_log::RequestLog;
use crate::queue::purge::Sweep;
use crate::queue::worker::Registry;
use crate::store::Db;
use crate::ttl_map::TtlMap;

/// How long a key look-up is trusted before the database is asked again. Deleting or
/// editing a key clears this node's cache at once; other nodes notice within this time.
const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    settings: Settings,
    db: Db,
    clock: SharedClock,
    secret_key: Vec<u8>,
    /// One wake-up per job kind, made when its worker first waits.
    jobs: Mutex<Vec<(&'static str, Arc<Notify>)>>,
    rate_limiter: RateLimiter,
    request_log: RequestLog,
    key_cache: TtlMap<String, AuthKey>,
    login_throttle: crate::auth::throttle::LoginThrottle,
    /// Request bodies held at once (`request_memory_mb`).
    body_budget: crate::budget::Budget,
    http_client: reqwest::Client,
    /// What deliveries share: DNS, SMTP connections, sending domains' keys.
    delivery: crate::delivery::Engine,
    /// This node's counters for Prometheus (`/metrics`).
    telemetry: crate::telemetry::Telemetry,
    /// The address the HTTP server actually bound (port 0 picks one), once started.
    bound: std::sync::OnceLock<SocketAddr>,
    /// The job kinds the workers run ([`job_kinds`]).
    job_kinds: Registry,
}

/// Every feature's job handler, registered with the queue's workers: the one place that
/// knows them all (the queue itself imports no feature).
pub fn job_kinds() -> Registry {
    Registry::default()
        .with(
            crate::emails::SIMULATE_JOB,
            Arc::new(|app, job| Box::pin(crate::emails::test_recipients::run_job(app, job))),
        )
        .with(
            crate::audience::imports::JOB,
            Arc::new(|app, job| Box::pin(crate::audience::imports::job::run_job(app, job))),
        )
        .with(
            crate::domains::VERIFY_JOB,
            Arc::new(|app, job| Box::pin(crate::domains::job::run(app, job))),
        )
        .with(
            crate::webhooks::scan::SCAN_JOB,
            Arc::new(|app, job| Box::pin(crate::webhooks::scan::run_job(app, job))),
        )
        .with(
            crate::webhooks::delivery::DELIVERY_JOB,
            Arc::new(|app, job| Box::pin(crate::webhooks::delivery::run_job(app, job))),
        )
        .with_concurrency(
            crate::emails::DELIVER_JOB,
            Arc::new(|app, job| Box::pin(crate::delivery::job::run_job(app, job))),
            |settings| settings.delivery.concurrency,
        )
        .with(
            crate::exports::JOB,
            Arc::new(|app, job| Box::pin(crate::exports::job::run_job(app, job))),
        )
        .with(
            crate::broadcasts::fanout::JOB,
            Arc::new(|app, job| Box::pin(crate::broadcasts::fanout::run_job(app, job))),
        )
}

impl App {
    /// Connects, migrates and loads the instance secret.
    pub async fn open(settings: Settings, clock: Option<SharedClock>) -> anyhow::Result<App> {
        let db =
            Db::connect_with(&settings.database_url, &settings.data_dir, &settings.sqlite).await?;
        db.migrate().await.context("running database migrations")?;
        let secret_key = load_or_create_secret(&db).await?;
        let http_client = crate::net::outbound_client(&settings)?;
        let delivery = crate::delivery::Engine::new(&settings, &db)?;
        let body_budget = crate::budget::Budget::new(
            settings.request_memory_mb,
            std::time::Duration::from_secs(settings.request_memory_wait_secs),
        );
        let app = App(Arc::new(Inner {
            rate_limiter: RateLimiter::new(settings.rate_limit, &db),
            request_log: RequestLog::default(),
            settings,
            db,
            clock: clock.unwrap_or_else(|| Arc::new(SystemClock)),
            secret_key,
            jobs: Mutex::new(Vec::new()),
            key_cache: TtlMap::new(KEY_CACHE_TTL),
            login_throttle: Default::default(),
            body_budget,
            http_client,
            delivery,
            telemetry: Default::default(),
            bound: std::sync::OnceLock::new(),
            job_kinds: job_kinds(),
        }));
        Ok(app)
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }
    pub fn db(&self) -> &Db {
        &self.0.db
    }
    pub fn now_ms(&self) -> Millis {
        self.0.clock.now_ms()
    }
    pub fn secret_key(&self) -> &[u8] {
        &self.0.secret_key
    }
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.0.rate_limiter
    }
    pub fn request_log(&self) -> &RequestLog {
        &self.0.request_log
    }
    pub fn login_throttle(&self) -> &crate::auth::throttle::LoginThrottle {
        &self.0.login_throttle
    }
    /// The memory budget of request bodies ([`crate::budget`]).
    pub fn body_budget(&self) -> &crate::budget::Budget {
        &self.0.body_budget
    }
    pub fn http_client(&self) -> &reqwest::Client {
        &self.0.http_client
    }
    pub fn delivery(&self) -> &crate::delivery::Engine {
        &self.0.delivery
    }
    pub fn telemetry(&self) -> &crate::telemetry::Telemetry {
        &self.0.telemetry
    }
    /// The job kinds this node's workers run.
    pub fn job_kinds(&self) -> &Registry {
        &self.0.job_kinds
    }

    /// Base URL for links (no trailing slash): the configured `public_url`, else the address
    /// the server is listening on.
    pub fn public_base_url(&self) -> String {
        match (self.0.settings.public_url.is_empty(), self.0.bound.get()) {
            (true, Some(addr)) => format!("http://{addr}"),
            _ => self.0.settings.public_base_url(),
        }
    }

    /// Wakes this node's workers of every kind after work was enqueued.
    pub fn notify_jobs(&self) {
        for (_, notify) in self.0.jobs.lock().iter() {
            notify.notify_waiters();
        }
    }

    /// Wakes only the workers of `kinds`: each woken worker looks at the queue, so waking
    /// every kind for one accepted email cost a query per kind (8 of the ~21 statements an
    /// email took from accept to delivery on SQLite).
    pub fn notify_job_kinds<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) {
        let jobs = self.0.jobs.lock();
        for kind in kinds {
            if let Some((_, notify)) = jobs.iter().find(|(k, _)| *k == kind) {
                notify.notify_waiters();
            }
        }
    }

    /// Resolves when work of `kind` (or of every kind) was enqueued on this node.
    pub async fn jobs_notified(&self, kind: &'static str) {
        let notify = {
            let mut jobs = self.0.jobs.lock();
            match jobs.iter().find(|(k, _)| *k == kind) {
                Some((_, notify)) => notify.clone(),
                None => {
                    let notify = Arc::new(Notify::new());
                    jobs.push((kind, notify.clone()));
                    notify
                }
            }
        };
        notify.notified().await
    }

    pub fn cached_key(&self, hash: &str) -> Option<AuthKey> {
        self.0.key_cache.get(hash)
    }
    pub fn cache_key(&self, hash: String, key: AuthKey) {
        self.0.key_cache.insert(hash, key);
    }
    pub fn forget_cached_keys(&self) {
        self.0.key_cache.clear();
    }
}

async fn load_or_create_secret(db: &Db) -> anyhow::Result<Vec<u8>> {
    let fresh = hex::encode(crate::auth::tokens::random_bytes::<32>());
    let stored = crate::teams::instance_secret(db, &fresh).await?;
    hex::decode(stored).context("instance secret is not hex")
}

/// The clean-ups the queue's purge ticker runs besides finished jobs.
fn sweeps() -> Vec<Sweep> {
    vec![
        Sweep {
            what: "expired export files",
            run: Box::new(|app| Box::pin(async { Ok(crate::exports::expire(app).await?) })),
        },
        Sweep {
            what: "request logs",
            run: Box::new(|app| {
                Box::pin(async { Ok(crate::logs::purge(app, crate::queue::purge::BATCH).await?) })
            }),
        },
    ]
}

/// A started Herald: HTTP server, workers and the request-log writer.
pub struct Running {
    pub app: App,
    pub addr: SocketAddr,
    /// Where the feedback SMTP listener listens, when `feedback_listen` is set.
    pub feedback_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, lets workers finish their current job, flushes logs.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        self.app.delivery().bookkeeping().close().await;
        self.app.db().close().await;
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// A server whose handle is dropped is told to stop, without waiting for it ([`Running::stop`]
/// waits).
impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Binds the listener (port 0 picks a free port) and starts everything.
pub async fn start(app: App) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(app.settings().listen)
        .await
        .with_context(|| format!("binding {}", app.settings().listen))?;
    let addr = listener.local_addr()?;
    let _ = app.0.bound.set(addr);
    let shutdown = CancellationToken::new();
    let feedback = crate::feedback::listener::start(&app, shutdown.clone()).await?;
    let mut tasks = Vec::new();

    tasks.push(crate::http::request_log::spawn_writer(
        &app,
        shutdown.clone(),
    ));
    tasks.extend(crate::queue::worker::spawn_all(&app, shutdown.clone()));
    tasks.push(crate::webhooks::scan::spawn_ticker(&app, shutdown.clone()));
    tasks.push(crate::queue::purge::spawn_ticker(
        &app,
        shutdown.clone(),
        sweeps(),
    ));
    tasks.push(crate::metrics::rollup::spawn_ticker(&app, shutdown.clone()));
    let feedback_addr = feedback.map(|(addr, task)| {
        tasks.push(task);
        addr
    });

    let router = crate::http::router(app.clone());
    let stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let service = tower::util::MapRequestLayer::new(crate::http::normalize_path);
        let service = tower::Layer::layer(&service, router);
        // hyper's own parse-error answers (414, 431, 400) get Resend's JSON body.
        crate::http::listener::serve(
            crate::http::listener::JsonErrorListener(listener),
            service,
            stop,
        )
        .await;
    }));
    Ok(Running {
        app,
        addr,
        feedback_addr,
        shutdown,
        tasks,
    })
}
