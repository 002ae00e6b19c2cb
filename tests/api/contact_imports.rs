//! `POST /contacts/imports` and its background job: a generated 100k-row file with bad rows
//! mixed in (exact counts and line numbers), upserts, every validation error, and imports
//! resumed after a crash (an aborted worker task; a SIGKILLed `herald contacts import`)
//! without any row imported twice.

use std::fmt::Write as _;
use std::time::Duration;

use herald::audience::imports;
use herald::on_db;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::contacts::{create_property, create_segment, create_topic, property_values};
use crate::helpers::{Reply, TestApp, assert_error, read, spawn_app, using_postgres};

pub async fn upload(app: &TestApp, csv: Vec<u8>, fields: &[(&str, String)]) -> Reply {
    let mut form = Form::new().part("file", Part::bytes(csv).file_name("contacts.csv"));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.clone());
    }
    let resp = app
        .client
        .post(app.url("/contacts/imports"))
        .bearer_auth(&app.key)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    read(resp).await
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await)
    .unwrap()
}

/// What row `i` of the generated file is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    BadEmail,
    BadNumber,
    /// Repeats the previous row's address.
    Duplicate,
    Good,
}

fn kind(i: usize) -> Kind {
    if i.is_multiple_of(97) {
        Kind::BadEmail
    } else if i.is_multiple_of(89) {
        Kind::BadNumber
    } else if i % 1000 == 500 && kind(i - 1) == Kind::Good {
        Kind::Duplicate
    } else {
        Kind::Good
    }
}

/// The generated file: header, then one row per `i`; row `i` is on line `i + 2`.
fn generate(rows: usize) -> Vec<u8> {
    let mut csv = String::from("Email,First Name,Last Name,Plan,Age,Unsubscribed\n");
    for i in 0..rows {
        let email = match kind(i) {
            Kind::BadEmail => format!("not-an-email-{i}"),
            Kind::Duplicate => format!("user{}@example.com", i - 1),
            _ => format!("User{i}@Example.com"),
        };
        let age = if kind(i) == Kind::BadNumber {
            "old".to_string()
        } else {
            (i % 90).to_string()
        };
        let last = if i % 500 == 0 { "\"Lee, Jr\"" } else { "Lee" };
        let plan = if i % 2 == 0 { "pro" } else { "free" };
        let unsubscribed = if i % 10 == 3 { "true" } else { "false" };
        writeln!(csv, "{email},F{i},{last},{plan},{age},{unsubscribed}").unwrap();
    }
    csv.into_bytes()
}

fn column_map() -> String {
    json!({
        "email": "Email", "first_name": "First Name", "last_name": "Last Name",
        "unsubscribed": "Unsubscribed",
        "properties": {"plan": {"column": "Plan", "type": "string"}, "age": {"column": "Age", "type": "number"}}
    })
    .to_string()
}

/// The test server runs its workers, as `herald serve` does: wait for them to finish it.
pub async fn wait_until_finished(app: &TestApp, id: &str) {
    for _ in 0..6000 {
        let import = imports::load(&app.app, id).await.unwrap().unwrap();
        if import.status == "completed" || import.status == "failed" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("import {id} did not finish");
}

async fn import_status(app: &TestApp, id: &str) -> Value {
    let reply = app.get(&format!("/contacts/imports/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn imports_100k_rows_with_bad_rows_counted_by_line() {
    const ROWS: usize = 100_000;
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    create_property(&app, "age", "number").await;
    let segment = create_segment(&app, "Imported").await;
    // Already there (any case): skipped.
    for i in 1..=5 {
        let reply = app
            .post(
                "/contacts",
                json!({"email": format!("USER{i}@example.com")}),
            )
            .await;
        assert_eq!(reply.status, 201);
    }

    let reply = upload(
        &app,
        generate(ROWS),
        &[
            ("column_map", column_map()),
            ("on_conflict", "skip".into()),
            ("segments", json!([{"id": segment}]).to_string()),
        ],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["object"], "contact_import");
    let id = reply.body["id"].as_str().unwrap().to_string();
    let queued = import_status(&app, &id).await;
    // The app's own worker may have taken the import up already.
    assert!(
        matches!(queued["status"].as_str(), Some("queued" | "in_progress")),
        "{}",
        queued["status"]
    );
    assert!(queued["completed_at"].is_null());

    wait_until_finished(&app, &id).await;

    let failed = (0..ROWS)
        .filter(|&i| matches!(kind(i), Kind::BadEmail | Kind::BadNumber))
        .count() as i64;
    let duplicates = (0..ROWS).filter(|&i| kind(i) == Kind::Duplicate).count() as i64;
    let skipped = duplicates + 5;
    let created = ROWS as i64 - failed - skipped;
    let done = import_status(&app, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["completed_at"].is_string());
    assert_eq!(
        done["counts"],
        json!({"total": ROWS, "created": created, "updated": 0, "skipped": skipped, "failed": failed})
    );
    // Failures by line number (row i is on line i + 2), with a reason.
    let failures = done["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 100);
    assert_eq!(failures[0]["line"], 2);
    assert!(
        failures[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not-an-email-0")
    );
    assert_eq!(failures[1]["line"], 91);
    assert!(
        failures[1]["reason"]
            .as_str()
            .unwrap()
            .contains("`age` must be a number"),
        "{}",
        failures[1]
    );
    assert_eq!(failures[2]["line"], 99);

    // Exactly the new contacts exist, with typed properties, in the segment and the topic.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM contacts").await,
        created + 5
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM contact_segments").await,
        created
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM contact_import_failures").await,
        failed,
        "every failed row is listed (under the listing cap)"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM contact_import_chunks").await,
        0,
        "the stored file is dropped"
    );
    let contact = app.get("/contacts/user3000@example.com").await.body;
    assert_eq!(contact["email"], "User3000@Example.com");
    assert_eq!(
        property_values(&contact),
        json!({"plan": "pro", "age": 3000 % 90})
    );
    assert_eq!(contact["last_name"], "Lee, Jr");
    assert_eq!(
        app.get("/contacts/user13@example.com").await.body["unsubscribed"],
        true
    );
    assert_eq!(
        app.get("/contacts/user1@example.com").await.body["first_name"],
        Value::Null,
        "skipped, not updated"
    );
    assert_eq!(contact["history"][0]["type"], "contact.imported");
    assert_eq!(
        contact["history"][0]["data"]["segments"][0]["segment_name"],
        "Imported"
    );

    // The list shows it; a status filter finds it.
    let listed = app.get("/contacts/imports?status=completed").await.body;
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert_eq!(listed["data"][0]["counts"]["total"], ROWS);
    assert_eq!(
        app.get("/contacts/imports?status=queued").await.body["data"],
        json!([])
    );
}

#[tokio::test]
async fn upsert_updates_existing_contacts() {
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    create_property(&app, "seats", "number").await;
    app.post(
        "/contacts",
        json!({"email": "ann@example.com", "first_name": "Ann", "last_name": "Old", "properties": {"plan": "free", "seats": 1}}),
    )
    .await;
    // Guessed columns (no column_map): email, first_name, unsubscribed, and the property keys.
    let csv = "email,first_name,last_name,plan,unsubscribed\n\
               ANN@example.com,Annie,,pro,yes\n\
               bo@example.com,Bo,Bee,free,\n\
               bo@example.com,Bobby,,,no\n";
    let segment = create_segment(&app, "Upserted").await;
    let topic = create_topic(&app, "Digest", "opt_out").await;
    let reply = upload(
        &app,
        csv.as_bytes().to_vec(),
        &[
            ("on_conflict", "upsert".into()),
            ("segments", json!([segment]).to_string()),
            (
                "topics",
                json!([{"id": topic, "subscription": "opt_in"}]).to_string(),
            ),
        ],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_string();
    wait_until_finished(&app, &id).await;
    let done = import_status(&app, &id).await;
    assert_eq!(
        done["counts"],
        json!({"total": 3, "created": 1, "updated": 2, "skipped": 0, "failed": 0})
    );

    let ann = app.get("/contacts/ann@example.com").await.body;
    assert_eq!(ann["first_name"], "Annie");
    assert_eq!(ann["last_name"], "Old", "an empty cell keeps the value");
    assert_eq!(ann["unsubscribed"], true);
    assert_eq!(
        property_values(&ann),
        json!({"plan": "pro", "seats": 1}),
        "properties merge"
    );
    let history: Vec<&str> = ann["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    // Both written by the same batch, at the same time.
    let mut latest = history[..2].to_vec();
    latest.sort();
    assert_eq!(latest, ["contact.imported", "contact.unsubscribed"]);
    assert_eq!(history[2], "contact.created");
    let imported = &ann["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "contact.imported")
        .unwrap()["data"];
    assert_eq!(imported["segments"][0]["segment_id"], segment.as_str());
    assert_eq!(
        imported["topics"],
        json!([{"topic_id": topic, "topic_name": "Digest", "subscription": "opt_in"}])
    );
    for email in ["ann@example.com", "bo@example.com"] {
        let topics = app.get(&format!("/contacts/{email}/topics")).await.body;
        assert_eq!(topics["data"][0]["subscription"], "opt_in", "{email}");
        let segments = app.get(&format!("/contacts/{email}/segments")).await.body;
        assert_eq!(segments["data"][0]["id"], segment.as_str(), "{email}");
    }
    let bo = app.get("/contacts/bo@example.com").await.body;
    assert_eq!(
        (bo["first_name"].clone(), bo["last_name"].clone()),
        (json!("Bobby"), json!("Bee"))
    );
}

#[tokio::test]
async fn import_validation_errors() {
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    let good = b"email,plan\nann@example.com,pro\n".to_vec();
    let unknown = "0190a5b4-0000-7000-8000-000000000000";

    // Not multipart at all.
    assert_error(
        &app.post("/contacts/imports", json!({"file": "x"})).await,
        422,
        "validation_error",
    );
    // No file.
    let resp = app
        .client
        .post(app.url("/contacts/imports"))
        .bearer_auth(&app.key)
        .multipart(Form::new().text("on_conflict", "skip"))
        .send()
        .await
        .unwrap();
    assert_error(&read(resp).await, 422, "missing_required_field");

    for (csv, fields, status, name) in [
        (b"".to_vec(), vec![], 422, "validation_error"), // empty file
        (
            b"name,plan\nAnn,pro\n".to_vec(),
            vec![],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![("on_conflict", "merge".to_string())],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![("column_map", "{not json".to_string())],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![("column_map", json!({"email": "E-mail"}).to_string())],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![(
                "column_map",
                json!({"properties": {"Plan": "plan"}}).to_string(),
            )],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![(
                "column_map",
                json!({"properties": {"plan": {"column": "plan", "type": "number"}}}).to_string(),
            )],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![("segments", "[{\"id\": 5}]".to_string())],
            422,
            "validation_error",
        ),
        (
            good.clone(),
            vec![("segments", json!([{"id": unknown}]).to_string())],
            404,
            "not_found",
        ),
        (
            good.clone(),
            vec![(
                "topics",
                json!([{"id": unknown, "subscription": "opt_in"}]).to_string(),
            )],
            404,
            "not_found",
        ),
        (
            good.clone(),
            vec![(
                "topics",
                json!([{"id": unknown, "subscription": "sure"}]).to_string(),
            )],
            422,
            "validation_error",
        ),
    ] {
        let reply = upload(&app, csv, &fields).await;
        assert_error(&reply, status, name);
    }
    // Over 50 MB.
    let mut big = b"email\n".to_vec();
    big.resize(50 * 1024 * 1024 + 1, b'a');
    assert_error(&upload(&app, big, &[]).await, 422, "validation_error");

    // Refused uploads leave nothing behind.
    assert_eq!(app.get("/contacts/imports").await.body["data"], json!([]));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM contact_imports").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM contact_import_chunks").await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 0);

    assert_error(
        &app.get("/contacts/imports?status=done").await,
        422,
        "validation_error",
    );
    assert_error(
        &app.get(&format!("/contacts/imports/{unknown}")).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/contacts/imports/nope").await,
        422,
        "invalid_parameter",
    );
}

/// Waits until the import has committed some batches, and returns its progress.
async fn wait_for_progress(app: &TestApp, id: &str) -> i64 {
    for _ in 0..3000 {
        let import = imports::load(&app.app, id).await.unwrap().unwrap();
        if import.rows_done > 0 {
            return import.rows_done;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the import made no progress");
}

/// Commits so far must match the progress recorded with them.
async fn assert_consistent(app: &TestApp, id: &str) {
    let import = imports::load(&app.app, id).await.unwrap().unwrap();
    let contacts = count(app, "SELECT COUNT(*) FROM contacts").await;
    assert_eq!(
        contacts, import.created_count,
        "contacts committed = created count in the progress"
    );
    assert_eq!(
        import.rows_done,
        import.created_count + import.skipped_count + import.failed_count
    );
}

async fn assert_imported_once(app: &TestApp, id: &str, rows: usize) {
    let done = import_status(app, id).await;
    let failed = (0..rows)
        .filter(|&i| matches!(kind(i), Kind::BadEmail | Kind::BadNumber))
        .count() as i64;
    let skipped = (0..rows).filter(|&i| kind(i) == Kind::Duplicate).count() as i64;
    assert_eq!(done["status"], "completed", "{done}");
    // A row imported twice would show up as an extra skip (or a missing create).
    assert_eq!(
        done["counts"],
        json!({"total": rows, "created": rows as i64 - failed - skipped, "updated": 0, "skipped": skipped, "failed": failed})
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM contacts").await,
        rows as i64 - failed - skipped
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM contact_segments").await,
        rows as i64 - failed - skipped
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM contact_events").await,
        rows as i64 - failed - skipped,
        "one import event each"
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM contact_import_failures").await,
        failed
    );
}

#[tokio::test]
async fn resumes_after_the_worker_is_killed_mid_import() {
    const ROWS: usize = 30_000;
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    create_property(&app, "age", "number").await;
    let segment = create_segment(&app, "Resumed").await;
    // Queued as the API queues it, but due in an hour, so the test server's own workers
    // leave it to the doomed worker below.
    let team = crate::dashboard::team_id(&app).await;
    let later = app.app.now_ms() + 3_600_000;
    let options = imports::upload::ImportOptions {
        column_map: Some(column_map()),
        segments: Some(json!([segment]).to_string()),
        ..Default::default()
    };
    let csv = generate(ROWS);
    let import =
        imports::upload::from_reader(&app.app, &team, None, csv.as_slice(), &options, later)
            .await
            .unwrap();
    let id = import.id.clone();

    // A worker claims the job and starts; the task dies mid-way (dropped mid-transaction).
    let jobs = herald::queue::claim(app.app.db(), imports::JOB, "doomed", later, 1)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let (worker_app, job) = (app.app.clone(), jobs[0].clone());
    let worker = tokio::spawn(async move { imports::job::run_job(&worker_app, &job).await });
    let seen = wait_for_progress(&app, &id).await;
    worker.abort();
    let _ = worker.await;
    let import = imports::load(&app.app, &id).await.unwrap().unwrap();
    assert!(
        import.rows_done >= seen && import.rows_done < ROWS as i64,
        "killed mid-way ({} rows done)",
        import.rows_done
    );
    assert_eq!(import.status, "in_progress");
    assert_consistent(&app, &id).await;

    // Its lease runs out; a worker claims the job again and carries on from the last commit.
    on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE jobs SET locked_until = 0"
    )
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app.app.notify_jobs();
    wait_until_finished(&app, &id).await;
    assert_imported_once(&app, &id, ROWS).await;
}

#[tokio::test]
async fn resumes_after_the_cli_process_is_sigkilled() {
    const ROWS: usize = 30_000;
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    create_property(&app, "age", "number").await;
    let segment = create_segment(&app, "From the CLI").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, generate(ROWS)).unwrap();

    // `herald contacts import` in its own process, on the same database.
    let settings = app.app.settings();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.arg("--data-dir").arg(&settings.data_dir);
    if using_postgres() {
        cmd.arg("--database-url").arg(&settings.database_url);
        // Every node of a PostgreSQL installation shares the key that seals DKIM keys. Given in
        // a file: HERALD_ENCRYPTION_KEY is ignored today (config.rs admits only variables of
        // serialised settings, and the key is never serialised).
        let config = dir.path().join("herald.toml");
        std::fs::write(
            &config,
            format!("encryption_key = \"{}\"\n", settings.encryption_key),
        )
        .unwrap();
        cmd.arg("--config").arg(&config);
    }
    cmd.args(["contacts", "import"])
        .arg(&file)
        .args(["--column-map", &column_map(), "--segment", &segment])
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("start herald");

    let id = loop {
        let listed = app.get("/contacts/imports").await.body;
        if let Some(id) = listed["data"][0]["id"].as_str() {
            break id.to_string();
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "the CLI stopped before queuing: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    wait_for_progress(&app, &id).await;
    child.kill().await.expect("SIGKILL"); // std's kill sends SIGKILL on Unix
    let import = imports::load(&app.app, &id).await.unwrap().unwrap();
    assert!(
        import.rows_done < ROWS as i64,
        "killed mid-way ({} rows done)",
        import.rows_done
    );
    assert_consistent(&app, &id).await;

    // The CLI queued the job to run after a lease; once due, a server's worker finishes it.
    on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE jobs SET run_at = 0"
    )
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    app.app.notify_jobs();
    wait_until_finished(&app, &id).await;
    assert_imported_once(&app, &id, ROWS).await;
}
