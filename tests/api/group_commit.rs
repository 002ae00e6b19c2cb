//! The accept path's group commit when something goes wrong: a request whose rows the
//! database refuses, in a group with others, and (PostgreSQL) a commit whose answer is lost.
//! A writer task that dies is covered by `store::group`'s unit tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use herald::on_db;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::emails::{scalar, test_email};
use crate::helpers::{Options, assert_error, read, spawn_app, spawn_app_with, using_postgres};

/// Runs SQL statements (setup of a test's database).
async fn execute(app: &crate::helpers::TestApp, statements: &[&str]) {
    for sql in statements {
        on_db!(app.app.db(), |pool| sqlx::query(sqlx::AssertSqlSafe(
            sql.to_string()
        ))
        .execute(pool)
        .await
        .map(|_| ())
        .expect(sql));
    }
}

/// Concurrent requests, some of which the database refuses (a trigger rejects their
/// subject): each refused one answers 500 in Resend's shape, every other one is accepted,
/// none hangs, and nothing of a refused request is stored (no email, event or job).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_database_refuses_fails_alone_and_stores_nothing() {
    let app = spawn_app().await;
    if using_postgres() {
        execute(
            &app,
            &[
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.subject = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER poison BEFORE INSERT ON emails FOR EACH ROW \
                 EXECUTE FUNCTION poison()",
            ],
        )
        .await;
    } else {
        execute(
            &app,
            &[
                "CREATE TRIGGER poison BEFORE INSERT ON emails WHEN NEW.subject = 'poison' \
               BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
            ],
        )
        .await;
    }
    let app = Arc::new(app);
    let sends: Vec<_> = (0..32)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut body = test_email("delivered@resend.dev");
                body["subject"] = json!(if n % 4 == 0 { "poison" } else { "fine" });
                let reply =
                    tokio::time::timeout(Duration::from_secs(30), app.post("/emails", body))
                        .await
                        .unwrap_or_else(|_| panic!("request {n} hangs"));
                (n, reply)
            })
        })
        .collect();
    let mut accepted = 0;
    for send in sends {
        let (n, reply) = send.await.unwrap();
        if n % 4 == 0 {
            assert_error(&reply, 500, "internal_server_error");
        } else {
            assert_eq!(reply.status, 200, "{}", reply.body);
            accepted += 1;
        }
    }
    assert_eq!(accepted, 24);
    let count = |sql| scalar(&app, sql, "fine");
    assert_eq!(
        count("SELECT COUNT(*) FROM emails WHERE subject = $1").await,
        24
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM emails WHERE subject <> $1").await,
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM jobs WHERE unique_key LIKE 'email:%' \
             AND substr(unique_key, 7) NOT IN (SELECT id FROM emails WHERE subject = $1)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM email_events \
             WHERE email_id NOT IN (SELECT id FROM emails WHERE subject = $1)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM jobs WHERE unique_key LIKE 'email:%' \
             AND substr(unique_key, 7) IN (SELECT id FROM emails WHERE subject = $1)"
        )
        .await,
        24
    );
}

/// A TCP proxy in front of PostgreSQL that, once armed, cuts the connection that carried
/// `marker` (a bound value) right after forwarding its next `COMMIT`, without passing on the
/// server's answer: the commit takes effect, but Herald never hears so.
struct CommitCutter {
    addr: std::net::SocketAddr,
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
}

impl CommitCutter {
    async fn start(server: String, marker: &'static [u8]) -> CommitCutter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let armed = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(AtomicBool::new(false));
        let (armed_, cut_) = (armed.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(upstream) = tokio::net::TcpStream::connect(&server).await else {
                    continue;
                };
                tokio::spawn(relay(
                    client,
                    upstream,
                    marker,
                    armed_.clone(),
                    cut_.clone(),
                ));
            }
        });
        CommitCutter { addr, armed, cut }
    }
}

async fn relay(
    client: tokio::net::TcpStream,
    upstream: tokio::net::TcpStream,
    marker: &'static [u8],
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = upstream.into_split();
    let silenced = Arc::new(AtomicBool::new(false));
    let silenced_ = silenced.clone();
    let answers = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if silenced_.load(Ordering::SeqCst) {
                continue;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut marked = false;
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if armed.load(Ordering::SeqCst) && chunk.windows(marker.len()).any(|w| w == marker) {
            marked = true;
        }
        let commit = marked && chunk.windows(6).any(|w| w == b"COMMIT");
        if commit && armed.swap(false, Ordering::SeqCst) {
            silenced.store(true, Ordering::SeqCst);
            let _ = server_write.write_all(chunk).await;
            // Let the server commit, then cut both sides.
            tokio::time::sleep(Duration::from_millis(500)).await;
            cut.store(true, Ordering::SeqCst);
            break;
        }
        if server_write.write_all(chunk).await.is_err() {
            break;
        }
    }
    answers.abort();
}

/// PostgreSQL: the connection is cut right after the server received a request's `COMMIT`,
/// before its answer reaches Herald (as when `pg_ctl -m fast stop` lands mid-commit). The
/// email is stored, so the request is answered 200 with its id, and stored once: not 503
/// for an email that would then be delivered anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_answered_from_the_database() {
    if !using_postgres() {
        println!("SKIPPED: PostgreSQL only (SQLite commits in process)");
        return;
    }
    const MARKER: &[u8] = b"answer-lost-7f3a9c";
    let database = crate::helpers::TestDatabase::new().await;
    let (prefix, rest) = database.url.split_once('@').unwrap();
    let (server, name) = rest.split_once('/').unwrap();
    let cutter = CommitCutter::start(server.to_string(), MARKER).await;
    let url = format!("{prefix}@{}/{name}", cutter.addr);
    let app = spawn_app_with(Options {
        configure: Some(Box::new(move |s| s.database_url = url)),
        ..Options::default()
    })
    .await;
    cutter.armed.store(true, Ordering::SeqCst);
    let mut body = test_email("delivered@resend.dev");
    body["subject"] = json!(std::str::from_utf8(MARKER).unwrap());
    let reply = tokio::time::timeout(
        Duration::from_secs(60),
        app.client
            .post(app.url("/emails"))
            .bearer_auth(&app.key)
            .json(&body)
            .send(),
    )
    .await
    .expect("an answer");
    let reply = read(reply.unwrap()).await;
    assert!(cutter.cut.load(Ordering::SeqCst), "the commit was not cut");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM emails WHERE id = $1", id).await,
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM jobs WHERE unique_key = 'email:' || $1",
            id
        )
        .await,
        1
    );
}
