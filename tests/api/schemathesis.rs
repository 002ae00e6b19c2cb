//! schemathesis (tests/schemathesis, installed by scripts/test) against `/openapi.json` of a
//! running Herald, on the database under test: all its checks, a bounded number of examples
//! per operation and a fixed seed, so a run takes about a minute and repeats itself.
//!
//! The test fails on any server error (ST101/ST102), undocumented status code (ST103),
//! response that contradicts the document (ST104–ST111), invalid request accepted (ST201) or
//! valid request rejected (ST202): the server and the document agree both ways. The other
//! checks (stateful ones) are printed with their counts, per database, for the record.
//!
//! What OpenAPI cannot say (`after` excluding `before`, the content of an imported CSV file,
//! uniqueness, the run's own API key) is configured in tests/schemathesis/hooks.py, which
//! explains each; every operation is run, `api-keys/remove` and `api-keys/update` included.
//!
//! Without schemathesis installed the test prints `SKIPPED: …` and passes, unless
//! `HERALD_REQUIRE_EXTERNAL=1` (CI), where it fails. `HERALD_SCHEMATHESIS_EXAMPLES` and
//! `HERALD_SCHEMATHESIS_SEED` change the number of examples per operation and the seed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::helpers::{spawn_app, using_postgres};

fn deps() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemathesis/.deps"
    ));
    dir.join("schemathesis").is_dir().then_some(dir)
}

/// The failures per check code, read from schemathesis's summary (`❌ ST103 …: 12`).
fn failures(summary: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in summary.lines() {
        let line = line.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        let Some(code) = line.split_whitespace().next() else {
            continue;
        };
        if code.len() == 5
            && code.starts_with("ST")
            && code[2..].bytes().all(|b| b.is_ascii_digit())
            && let Some((_, n)) = line.rsplit_once(": ")
            && let Ok(n) = n.trim().parse::<usize>()
        {
            *counts.entry(code.to_string()).or_default() += n;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_nor_undocumented_answer() {
    let Some(deps) = deps() else {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("schemathesis is not installed in tests/schemathesis/.deps (run scripts/test)");
        }
        println!("SKIPPED: schemathesis is not installed in tests/schemathesis/.deps");
        return;
    };
    let examples = std::env::var("HERALD_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let seed = std::env::var("HERALD_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let app = spawn_app().await;
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemathesis/schemathesis.toml"
    );
    let hooks = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis/hooks.py");
    // The key the run authenticates with: hooks.py keeps calls from revoking or changing it.
    let keys = app.get("/api-keys").await;
    let own_key_id = keys.body["data"][0]["id"]
        .as_str()
        .expect("the app's API key")
        .to_string();
    let reports = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new("python3")
        .args([
            "-m",
            "schemathesis.cli",
            "--no-color",
            "--config-file",
            config,
            "run",
        ])
        .arg(app.url("/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {}", app.key)])
        .args([
            "--checks",
            "all",
            "--max-examples",
            &examples,
            "--seed",
            &seed,
        ])
        .args(["--no-shrink", "--continue-on-failure", "--workers", "2"])
        .args(["--request-timeout", "30", "--report", "junit"])
        .arg("--report-dir")
        .arg(reports.path())
        .env("PYTHONPATH", &deps)
        .env("SCHEMATHESIS_HOOKS", hooks)
        .env("HERALD_SCHEMATHESIS_KEY_ID", &own_key_id)
        // Its cache of past failures goes to the run's own folder: each run starts afresh.
        .current_dir(reports.path())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run python3 -m schemathesis.cli");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .rsplit_once("SUMMARY")
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no schemathesis summary:\n{stdout}\n{stderr}"));
    let counts = failures(summary);
    let database = if using_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("schemathesis on {database} ({examples} examples per operation, seed {seed}):");
    println!("{summary}");
    println!("failures per check on {database}: {counts:?}");
    let gated: Vec<_> = counts
        .iter()
        .filter(|(code, n)| {
            (code.starts_with("ST1") || *code == "ST201" || *code == "ST202") && **n > 0
        })
        .collect();
    assert!(
        gated.is_empty(),
        "server errors, undocumented statuses, answers off the document, or requests the \
         server and the document disagree on, on {database}: {gated:?}\n{stdout}"
    );
}

#[test]
fn reads_the_failure_counts_of_a_summary() {
    let summary = "Failures:\n  ❌ ST202 Schema-valid request rejected: 47\n  \
                   ❌ ST103 Undocumented status code: 3\n\nTest cases:\n  10 generated";
    let counts = failures(summary);
    assert_eq!(counts.get("ST202"), Some(&47));
    assert_eq!(counts.get("ST103"), Some(&3));
    assert_eq!(counts.len(), 2);
}
