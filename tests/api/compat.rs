//! The official Resend SDKs against a live Herald: runs the Node suite
//! (`tests/compat/node/suite.mjs`, npm `resend`), the Python suite
//! (`tests/compat/python/suite.py`, PyPI `resend`) and the Rust suite (`tests/compat/rust`, a
//! crate of its own on crates.io `resend-rs`, built here into Herald's target folder) as child
//! processes, each against its own fresh server (SQLite, or PostgreSQL with
//! `HERALD_TEST_DATABASE=postgres`).
//!
//! The SDKs are installed by `scripts/test` (or see tests/compat/README.md). When they are
//! missing the tests print `SKIPPED: …` and pass, unless `HERALD_REQUIRE_EXTERNAL=1` (set by
//! `scripts/test`, hence CI) turns that into a failure. `HERALD_COMPAT_SKIP_EMAILS=1` is passed
//! on to the suites and leaves out their emails API checks.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

/// A safety net against a hung child process, not a performance limit.
const SUITE_TIMEOUT: Duration = Duration::from_secs(600);

struct Suite {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    /// A file that exists once the SDK is installed, relative to the repository root.
    installed_marker: &'static str,
    install_hint: &'static str,
    /// Builds the suite first and returns the program to run instead of `program`.
    build: Option<Build>,
}

/// Builds a suite from the repository root; the program to run, or why it cannot.
type Build = fn(&Path) -> Result<PathBuf, String>;

const NODE: Suite = Suite {
    name: "Node SDK",
    program: "node",
    args: &["tests/compat/node/suite.mjs"],
    installed_marker: "tests/compat/node_modules/resend/package.json",
    install_hint: "npm ci --prefix tests/compat (or run scripts/test)",
    build: None,
};

const PYTHON: Suite = Suite {
    name: "Python SDK",
    program: "python3",
    args: &["-B", "tests/compat/python/suite.py"],
    installed_marker: "tests/compat/python/.deps/resend/__init__.py",
    install_hint: "pip install --target tests/compat/python/.deps -r tests/compat/python/requirements.txt \
                   (or run scripts/test)",
    build: None,
};

/// `program` only checks that cargo runs; the suite is built by [`build_rust_suite`].
const RUST: Suite = Suite {
    name: "Rust SDK",
    program: "cargo",
    args: &[],
    installed_marker: "tests/compat/rust/Cargo.lock",
    install_hint: "crates.io must be reachable to build tests/compat/rust",
    build: Some(build_rust_suite),
};

/// Builds the Rust suite with the cargo running these tests, into Herald's own target folder
/// (where its dependencies, shared with Herald's, are mostly built already), and returns the
/// binary. `--locked` keeps the pinned `resend-rs` and its dependencies.
fn build_rust_suite(root: &Path) -> Result<PathBuf, String> {
    // This test binary is `<target>/<profile>/deps/api-…`.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or("cannot tell the target folder from the test binary's path")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(&cargo)
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(root.join("tests/compat/rust/Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start `{cargo}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building tests/compat/rust failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target.join("debug/herald-compat-rust"))
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn external_required() -> bool {
    std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// Why the suite cannot run here, if it cannot.
fn missing(suite: &Suite, root: &Path) -> Option<String> {
    let runs = std::process::Command::new(suite.program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !runs {
        return Some(format!("`{}` is not installed", suite.program));
    }
    if !root.join(suite.installed_marker).exists() {
        return Some(format!(
            "{} is not installed: {}",
            suite.name, suite.install_hint
        ));
    }
    None
}

async fn run(suite: Suite) {
    let root = repo_root();
    let built = match (missing(&suite, &root), suite.build) {
        (Some(reason), _) => Err(reason),
        (None, Some(build)) => {
            let root = root.clone();
            tokio::task::spawn_blocking(move || build(&root))
                .await
                .expect("the build task runs")
                .map(Some)
        }
        (None, None) => Ok(None),
    };
    let program = match built {
        Ok(program) => program.unwrap_or_else(|| PathBuf::from(suite.program)),
        Err(reason) => {
            assert!(
                !external_required(),
                "{}: {reason} (HERALD_REQUIRE_EXTERNAL=1)",
                suite.name
            );
            println!("SKIPPED: {} compatibility suite: {reason}", suite.name);
            return;
        }
    };

    let app = spawn_app().await;
    verify_broadcast_domain(&app).await;
    // A second server whose limit a burst of requests meets, for the 429 checks.
    let limited = spawn_app_with(Options {
        rate_limit: 1,
        ..Options::default()
    })
    .await;
    let result = run_child(&suite, &program, &root, &app, &limited).await;

    let output = result.unwrap_or_else(|e| panic!("{}: {e}", suite.name));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with `--nocapture`, and by the test harness when the test fails.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{} compatibility suite failed ({}):\n{stdout}\n{stderr}",
        suite.name,
        output.status
    );
}

/// The broadcasts checks send from `compat-broadcasts.dev`, verified here by hand.
async fn verify_broadcast_domain(app: &TestApp) {
    let team = herald::teams::first_team_id(&app.app)
        .await
        .unwrap()
        .unwrap();
    let domain = herald::domains::create(
        &app.app,
        &team,
        herald::domains::DomainInput {
            name: Some("compat-broadcasts.dev".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    herald::on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE domains SET status = 'verified' WHERE id = $1"
    )
    .bind(&domain.id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
}

async fn run_child(
    suite: &Suite,
    program: &Path,
    root: &Path,
    app: &TestApp,
    limited: &TestApp,
) -> Result<std::process::Output, String> {
    let child = tokio::process::Command::new(program)
        .args(suite.args)
        .current_dir(root)
        // Node and Rust SDKs: RESEND_BASE_URL; Python SDK: RESEND_API_URL (read at import).
        .env("RESEND_BASE_URL", &app.base)
        .env("RESEND_API_URL", &app.base)
        .env("RESEND_API_KEY", &app.key)
        .env("HERALD_COMPAT_LIMITED_URL", &limited.base)
        .env("HERALD_COMPAT_LIMITED_KEY", &limited.key)
        .env("PYTHONPATH", root.join("tests/compat/python/.deps"))
        // The Rust SDK paces itself to Resend's default of 9 requests a second; the test
        // server allows far more, and the 429 checks use their own limited server.
        .env("RESEND_RATE_LIMIT", "1000")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(SUITE_TIMEOUT, child).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(format!("could not start `{}`: {e}", program.display())),
        Err(_) => Err(format!(
            "no result after {} s; the suite hangs",
            SUITE_TIMEOUT.as_secs()
        )),
    }
}

#[tokio::test]
async fn node_sdk_suite() {
    run(NODE).await;
}

#[tokio::test]
async fn python_sdk_suite() {
    run(PYTHON).await;
}

#[tokio::test]
async fn rust_sdk_suite() {
    run(RUST).await;
}
