//! Accepted means durable: the real `herald` binary takes a few hundred concurrent sends,
//! is killed with SIGKILL part-way, and restarted on the same data. Every email that got a
//! 200 must be there, with its job.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use herald::on_db;
use herald::store::Db;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::Notify;

use crate::helpers::{TestDatabase, using_postgres};

const TOTAL: usize = 300;
const CONCURRENCY: usize = 16;
const KILL_AFTER: usize = 100;

pub struct Server {
    pub child: Child,
    pub base: String,
    /// The first start prints the API key.
    pub key: Option<String>,
    _stdout: Lines<BufReader<ChildStdout>>,
}

/// Starts `herald serve`; a `first` start also prints the API key, after the dashboard line.
async fn start(data_dir: &std::path::Path, database_url: &str, first: bool) -> Server {
    start_with(data_dir, database_url, first, "").await
}

/// [`start`] with more configuration (TOML lines before any table).
pub async fn start_with(
    data_dir: &std::path::Path,
    database_url: &str,
    first: bool,
    extra_config: &str,
) -> Server {
    // PostgreSQL needs an encryption key; it goes in a configuration file with the test's
    // other settings (the environment is cleared below).
    let config = data_dir.join("herald.toml");
    std::fs::write(
        &config,
        format!("encryption_key = \"{}\"\n{extra_config}", "ab".repeat(32)),
    )
    .unwrap();
    let mut cmd = Command::new(data_dir.join("herald"));
    cmd.arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        // Only what the test sets: HERALD_* variables of the test run (HERALD_TEST_DATABASE)
        // would be read as settings.
        .env_clear()
        .env("HERALD_RATE_LIMIT", "1000000")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(data_dir.join("stderr.log")).unwrap(),
        ))
        .kill_on_drop(true);
    if !database_url.is_empty() {
        cmd.env("DATABASE_URL", database_url);
    }
    let mut child = cmd.spawn().expect("start herald");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    let mut key = None;
    while let Some(line) = lines.next_line().await.expect("read stdout") {
        if let Some(rest) = line.strip_prefix("Herald is listening on ") {
            base = Some(rest.split_whitespace().next().unwrap().to_string());
        }
        if line.starts_with("re_") {
            key = Some(line.trim().to_string());
        }
        let done = if first {
            key.is_some()
        } else {
            line.starts_with("Dashboard: ")
        };
        if done {
            break;
        }
    }
    Server {
        child,
        base: base.unwrap_or_else(|| {
            let log = std::fs::read_to_string(data_dir.join("stderr.log")).unwrap_or_default();
            panic!("herald did not start:\n{log}")
        }),
        key,
        _stdout: lines,
    }
}

/// Sends one email; the error says why it was not accepted.
async fn send(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> Result<String, String> {
    let resp = client
        .post(format!("{base}/emails"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    match body["id"].as_str() {
        Some(id) if status == 200 => Ok(id.to_string()),
        _ => Err(format!("{status}: {body}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_emails_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Dropped (with its PostgreSQL database) when the test ends, passed or failed.
    let database = TestDatabase::new().await;
    let database_url = database.url.clone();

    // A private copy: a shared target directory may get another build of `herald` while the
    // test runs.
    std::fs::copy(env!("CARGO_BIN_EXE_herald"), dir.path().join("herald")).unwrap();
    let mut server = start(dir.path(), &database_url, true).await;
    let key = server.key.clone().expect("first start prints a key");
    let client = reqwest::Client::new();

    // One idempotent send before the crash, replayed after it.
    let idempotent = json!({"from": "onboarding@resend.dev", "to": "delivered@resend.dev",
                            "subject": "Once", "text": "only once"});
    let resp = client
        .post(format!("{}/emails", server.base))
        .bearer_auth(&key)
        .header("idempotency-key", "crash-test")
        .json(&idempotent)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "{} has no working POST /emails: was it overwritten by another build?",
        env!("CARGO_BIN_EXE_herald")
    );
    let idempotent_id: Value = resp.json().await.unwrap();

    let accepted = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, base, key) = (client.clone(), server.base.clone(), key.clone());
        let (accepted, enough, next) = (accepted.clone(), enough.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= TOTAL {
                    return ids;
                }
                let body = json!({
                    "from": "Crash Test <onboarding@resend.dev>",
                    "to": ["delivered@resend.dev", format!("delivered+{n}@resend.dev")],
                    "subject": format!("Email {n}"),
                    "html": format!("<p>Email number {n}</p>"),
                    "attachments": [{"filename": "n.txt", "content": [n as u8]}],
                });
                match send(&client, &base, &key, &body).await {
                    Ok(id) => {
                        ids.push(id);
                        if accepted.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                            enough.notify_one();
                        }
                    }
                    Err(why) => {
                        // Expected once the server is killed; a bug before that.
                        if accepted.load(Ordering::SeqCst) < KILL_AFTER {
                            enough.notify_one();
                            panic!("send failed before the kill: {why}");
                        }
                        return ids;
                    }
                }
            }
        }));
    }
    enough.notified().await;
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.unwrap();
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    assert!(
        ids.len() >= KILL_AFTER && ids.len() < TOTAL,
        "{}",
        ids.len()
    );
    println!(
        "crash test ({}): {} of {TOTAL} emails accepted before SIGKILL",
        if using_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        ids.len()
    );

    // Restart on the same data: every accepted email is there, and so is its job.
    let mut server = start(dir.path(), &database_url, false).await;
    for id in &ids {
        let resp = client
            .get(format!("{}/emails/{id}", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "email {id} lost");
        let attachments: Value = client
            .get(format!("{}/emails/{id}/attachments", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(attachments["data"].as_array().unwrap().len(), 1, "{id}");
    }
    let replay = client
        .post(format!("{}/emails", server.base))
        .bearer_auth(&key)
        .header("idempotency-key", "crash-test")
        .json(&idempotent)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.json::<Value>().await.unwrap(), idempotent_id);

    let db = Db::connect(&database_url, dir.path()).await.unwrap();
    let job_keys: HashSet<String> = on_db!(&db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT unique_key FROM jobs WHERE unique_key IS NOT NULL"
    )
    .fetch_all(pool)
    .await
    .unwrap())
    .into_iter()
    .collect();
    for id in &ids {
        assert!(
            job_keys.contains(&format!("email:{id}")),
            "job of {id} lost"
        );
    }
    db.close().await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
}
