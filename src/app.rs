//! The top of the crate, which ties the layers together: [`App::open`] makes the handle
//! (`handle::App`) with every feature's state, [`job_kinds`] registers every feature's job
//! handler, and [`start`] runs the HTTP server, the workers and the tickers. Nothing but the
//! command line (`cli`) imports it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::{Millis, SharedClock, SystemClock};
use crate::config::Settings;
pub use crate::handle::App;
use crate::handle::{Base, Parts};
use crate::queue::purge::Sweep;
use crate::queue::worker::{Host, Registry};
use crate::store::Db;

/// Every feature's job handler, registered with the queue's workers: the one place that
/// knows them all (the queue itself imports no feature).
pub fn job_kinds() -> Registry<App> {
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
    /// Connects, migrates, loads the instance secret and makes every feature's state.
    pub async fn open(settings: Settings, clock: Option<SharedClock>) -> anyhow::Result<App> {
        let db =
            Db::connect_with(&settings.database_url, &settings.data_dir, &settings.sqlite).await?;
        db.migrate().await.context("running database migrations")?;
        let secret_key = load_or_create_secret(&db).await?;
        let parts = Parts::default()
            .with(crate::http::rate_limit::RateLimiter::new(
                settings.rate_limit,
                &db,
            ))
            .with(crate::http::request_log::RequestLog::default())
            .with(crate::auth::api_keys::KeyCache::default())
            .with(crate::auth::throttle::LoginThrottle::default())
            .with(crate::delivery::Engine::new(&settings, &db)?)
            .with(crate::telemetry::Telemetry::default());
        let base = Base {
            http_client: crate::net::outbound_client(&settings)?,
            body_budget: crate::budget::Budget::new(
                settings.request_memory_mb,
                Duration::from_secs(settings.request_memory_wait_secs),
            ),
            job_kinds: job_kinds(),
            clock: clock.unwrap_or_else(|| Arc::new(SystemClock)),
            secret_key,
            settings,
            db,
        };
        Ok(App::new(base, parts))
    }
}

/// The queue's workers and purge run on `App`.
impl Host for App {
    fn settings(&self) -> &Settings {
        App::settings(self)
    }
    fn now_ms(&self) -> Millis {
        App::now_ms(self)
    }
    fn db(&self) -> &Db {
        App::db(self)
    }
    fn bookkeeping(&self) -> &Db {
        self.delivery().bookkeeping()
    }
    fn job_kinds(&self) -> &Registry<App> {
        App::job_kinds(self)
    }
    async fn jobs_notified(&self, kind: &'static str) {
        App::jobs_notified(self, kind).await
    }
}

async fn load_or_create_secret(db: &Db) -> anyhow::Result<Vec<u8>> {
    let fresh = hex::encode(crate::auth::tokens::random_bytes::<32>());
    let stored = crate::teams::instance_secret(db, &fresh).await?;
    hex::decode(stored).context("instance secret is not hex")
}

/// The clean-ups the queue's purge ticker runs besides finished jobs.
fn sweeps() -> Vec<Sweep<App>> {
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

/// Resend's API at the root (behind the gate), the public email, tracking and unsubscribe
/// routes, the dashboard under `/dashboard`, `/openapi.json` and `/metrics`.
pub fn router(app: App) -> axum::Router {
    let (api, _) = crate::api::routes_and_spec();
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        app.clone(),
        crate::http::gate::api_gate,
    ));
    axum::Router::new()
        .merge(api)
        .merge(crate::api::emails::public_routes())
        .merge(crate::api::tracking::public_routes())
        .merge(crate::api::unsubscribe::routes())
        .merge(crate::dashboard::routes())
        .route(
            "/openapi.json",
            axum::routing::get(crate::api::openapi::serve),
        )
        .route(
            crate::http::prometheus::PATH,
            axum::routing::get(crate::http::prometheus::serve),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::http::prometheus::time_routed,
        ))
        .fallback(crate::http::error::not_found)
        .method_not_allowed_fallback(crate::http::error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::http::guard::guard,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(crate::error::AppError::internal(
                "An unexpected error occurred.",
            ))
        }))
        .with_state(app)
}

/// Binds the listener (port 0 picks a free port) and starts everything.
pub async fn start(app: App) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(app.settings().listen)
        .await
        .with_context(|| format!("binding {}", app.settings().listen))?;
    let addr = listener.local_addr()?;
    app.set_bound(addr);
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

    let router = router(app.clone());
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
