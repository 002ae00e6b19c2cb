//! [`App`], the handle every part shares: settings, database, clock, instance secret, the
//! outbound HTTP client, the request-body budget, the job wake-ups, and one slot per feature's in-process state
//! ([`Parts`]). It sits under the features and imports none of them: each feature reads its
//! own state through an accessor it declares next to the type (`impl App { fn delivery() }`
//! in `delivery`, `rate_limiter()` in `http::rate_limit`…). `app.rs`, at the top, puts an
//! `App` together (`App::open`) and starts it (`app::start`).
//!
//! `App` is cheap to clone; the HTTP handlers, dashboard, workers and CLI all use it.

use std::any::{Any, type_name};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::budget::Budget;
use crate::clock::{Millis, SharedClock};
use crate::config::Settings;
use crate::queue::worker::Registry;
use crate::store::Db;

#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    base: Base,
    /// One wake-up per job kind, made when its worker first waits.
    jobs: Mutex<Vec<(&'static str, Arc<Notify>)>>,
    /// The address the HTTP server actually bound (port 0 picks one), once started.
    bound: OnceLock<SocketAddr>,
    parts: Parts,
}

/// What every `App` has, whatever features it runs.
pub struct Base {
    pub settings: Settings,
    pub db: Db,
    pub clock: SharedClock,
    pub secret_key: Vec<u8>,
    /// Outbound HTTP, guarded against server-side request forgery (`net`).
    pub http_client: reqwest::Client,
    /// Request bodies held at once (`request_memory_mb`).
    pub body_budget: Budget,
    /// The job kinds the workers run (`app::job_kinds`).
    pub job_kinds: Registry<App>,
}

/// The features' in-process state, one value of each type, read by type ([`App::part`]).
#[derive(Default)]
pub struct Parts(Vec<Box<dyn Any + Send + Sync>>);

impl Parts {
    pub fn with<T: Any + Send + Sync>(mut self, part: T) -> Self {
        assert!(
            !self.0.iter().any(|p| p.is::<T>()),
            "{} given twice",
            type_name::<T>()
        );
        self.0.push(Box::new(part));
        self
    }
}

impl App {
    pub fn new(base: Base, parts: Parts) -> App {
        App(Arc::new(Inner {
            base,
            jobs: Mutex::new(Vec::new()),
            bound: OnceLock::new(),
            parts,
        }))
    }

    /// The feature state of type `T` this `App` was given (a feature's accessor calls this).
    pub fn part<T: Any>(&self) -> &T {
        self.0
            .parts
            .0
            .iter()
            .find_map(|p| p.downcast_ref::<T>())
            .unwrap_or_else(|| panic!("App opened without its {}", type_name::<T>()))
    }

    pub fn settings(&self) -> &Settings {
        &self.0.base.settings
    }
    pub fn db(&self) -> &Db {
        &self.0.base.db
    }
    pub fn now_ms(&self) -> Millis {
        self.0.base.clock.now_ms()
    }
    pub fn secret_key(&self) -> &[u8] {
        &self.0.base.secret_key
    }
    pub fn http_client(&self) -> &reqwest::Client {
        &self.0.base.http_client
    }
    /// The memory budget of request bodies ([`crate::budget`]).
    pub fn body_budget(&self) -> &Budget {
        &self.0.base.body_budget
    }
    /// The job kinds this node's workers run.
    pub fn job_kinds(&self) -> &Registry<App> {
        &self.0.base.job_kinds
    }

    /// Records the address the HTTP server bound (once; `app::start`).
    pub fn set_bound(&self, addr: SocketAddr) {
        let _ = self.0.bound.set(addr);
    }

    /// Base URL for links (no trailing slash): the configured `public_url`, else the address
    /// the server is listening on.
    pub fn public_base_url(&self) -> String {
        let settings = self.settings();
        match (settings.public_url.is_empty(), self.0.bound.get()) {
            (true, Some(addr)) => format!("http://{addr}"),
            _ => settings.public_base_url(),
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
}
