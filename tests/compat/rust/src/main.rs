//! Runs Resend's official Rust SDK (crates.io `resend-rs`, pinned in Cargo.toml) against a
//! live Herald and checks what comes back: every call the SDK offers that Herald serves,
//! decoded into the SDK's own types, and the errors as the SDK reports them.
//!
//! Started by `cargo test --test api compat` (tests/api/compat.rs), which passes:
//!   RESEND_BASE_URL, RESEND_API_KEY   the Herald under test and a full-access key of its team
//!   HERALD_COMPAT_LIMITED_URL/_KEY    optional: a second Herald whose rate limit is 1 request/s
//!   HERALD_COMPAT_SKIP_EMAILS=1       optional: leave out the emails API checks
//! Each check prints `ok - …` or `not ok - …`; the last line is `rust-sdk: N passed, N failed`,
//! and the exit code is 1 when anything failed.

mod audience;
mod emails;
mod resources;

use std::fmt::Debug;
use std::future::Future;

use resend_rs::types::ErrorResponse;
use resend_rs::{Error, Resend};

pub const UNKNOWN_ID: &str = "0190a5b4-0000-7000-8000-000000000000";

/// What a check returns: its value, or why it failed.
pub type Outcome<T> = Result<T, String>;

/// Every check runs; failures are reported, the summary decides the exit code.
#[derive(Default)]
pub struct Runner {
    passed: u32,
    failed: u32,
}

impl Runner {
    /// Runs one check; its value is kept for later checks (`None` when it failed).
    pub async fn check<T>(
        &mut self,
        name: &str,
        check: impl Future<Output = Outcome<T>>,
    ) -> Option<T> {
        match check.await {
            Ok(value) => {
                self.passed += 1;
                println!("ok - {name}");
                Some(value)
            }
            Err(why) => {
                self.failed += 1;
                println!("not ok - {name}");
                for line in why.lines().take(20) {
                    println!("  # {line}");
                }
                None
            }
        }
    }
}

/// The SDK's answer, or the error it reported (decode errors included) as the failure.
pub fn sdk<T>(result: resend_rs::Result<T>) -> Outcome<T> {
    result.map_err(|e| format!("SDK error: {e}\n{e:?}"))
}

/// The value an earlier check produced, or a failure saying it is missing.
pub fn need<T: Clone>(value: &Option<T>) -> Outcome<T> {
    value
        .clone()
        .ok_or_else(|| "skipped: an earlier check it depends on failed".to_string())
}

/// Resend's error as the SDK reports it (`Error::Resend`), with the status and one of `names`.
pub fn expect_error<T: Debug>(
    result: resend_rs::Result<T>,
    status: u16,
    names: &[&str],
) -> Outcome<ErrorResponse> {
    match result {
        Err(Error::Resend(error)) => {
            ensure(
                error.status_code == status,
                format!("status {error:?}, wanted {status}"),
            )?;
            ensure(
                names.contains(&error.name.as_str()),
                format!("name {error:?}, wanted one of {names:?}"),
            )?;
            Ok(error)
        }
        Err(other) => Err(format!("expected Resend's error body, got {other:?}")),
        Ok(value) => Err(format!("expected an error, got {value:?}")),
    }
}

pub fn ensure(condition: bool, why: impl Into<String>) -> Outcome<()> {
    if condition { Ok(()) } else { Err(why.into()) }
}

pub fn ensure_eq<A: PartialEq<B> + Debug, B: Debug>(got: A, wanted: B, what: &str) -> Outcome<()> {
    ensure(
        got == wanted,
        format!("{what}: got {got:?}, wanted {wanted:?}"),
    )
}

/// Resend's resource timestamps: "2023-10-06 23:47:56.678+00".
pub fn is_resource_time(value: &str) -> bool {
    let bytes = value.as_bytes();
    value.len() >= 22
        && value.ends_with("+00")
        && bytes.get(4) == Some(&b'-')
        && bytes.get(10) == Some(&b' ')
        && bytes.get(13) == Some(&b':')
}

/// A client for `base` with `key`, configured as a user would.
pub fn client(base: &str, key: &str) -> Resend {
    let url = base.parse().expect("a valid base URL");
    Resend::with_config(resend_rs::ConfigBuilder::new(key).base_url(url).build())
}

#[tokio::main]
async fn main() {
    let (Ok(base), Ok(key)) = (
        std::env::var("RESEND_BASE_URL"),
        std::env::var("RESEND_API_KEY"),
    ) else {
        eprintln!("Set RESEND_BASE_URL and RESEND_API_KEY (tests/api/compat.rs does).");
        std::process::exit(2);
    };
    // The client under test is configured the way users configure it: from the environment.
    let resend = Resend::new(&key);
    let mut runner = Runner::default();

    resources::api_keys(&mut runner, &resend, &base).await;
    resources::authentication(&mut runner, &resend, &base).await;
    if std::env::var("HERALD_COMPAT_SKIP_EMAILS").as_deref() != Ok("1") {
        emails::emails(&mut runner, &resend).await;
        emails::batch(&mut runner, &resend).await;
        emails::templates(&mut runner, &resend).await;
        emails::webhooks(&mut runner, &resend).await;
    }
    resources::domains(&mut runner, &resend).await;
    audience::contacts(&mut runner, &resend).await;
    audience::properties(&mut runner, &resend).await;
    audience::segments(&mut runner, &resend).await;
    audience::topics(&mut runner, &resend).await;
    audience::imports(&mut runner, &resend).await;
    resources::suppressions(&mut runner, &resend).await;

    println!(
        "rust-sdk: {} passed, {} failed",
        runner.passed, runner.failed
    );
    std::process::exit(i32::from(runner.failed > 0));
}
