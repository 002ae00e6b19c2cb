//! Feedback parsing on real-world bounces and complaints: the fixture folder shared with
//! the team (Sisimai's set-of-emails, read at run time, never copied into the project) and
//! its expected results. Prints how many fixtures match on each field and which differ.

use std::path::PathBuf;

use herald::feedback::{self, Kind};
use serde_json::Value;

pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var("HERALD_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/fixtures/bounces"
            ))
        });
    if dir.join("expected.json").is_file() {
        return Some(dir);
    }
    if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
        panic!("bounce fixtures missing at {}", dir.display());
    }
    println!("SKIPPED: no bounce fixtures at {}", dir.display());
    None
}

/// Sisimai says "arf" or "dsn"; delays are DSNs too.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Complaint => "arf",
        Kind::Bounce | Kind::Delay => "dsn",
        Kind::Unknown => "unknown",
    }
}

const FIELDS: [&str; 6] = [
    "kind",
    "recipient",
    "status",
    "reply_code",
    "hard",
    "feedback_type",
];

#[test]
fn fixture_corpus_match_rates() {
    let Some(dir) = fixtures_dir() else { return };
    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut matches = [0usize; FIELDS.len()];
    let mut differences = Vec::new();
    for case in &expected {
        let file = case["file"].as_str().unwrap();
        let raw = std::fs::read(dir.join(file)).unwrap();
        let parsed = feedback::parse(&raw);
        let first = parsed.recipients.first();
        let got = [
            Value::from(kind_name(parsed.kind)),
            first.map_or(Value::Null, |r| Value::from(r.address.clone())),
            first
                .and_then(|r| r.status.clone())
                .map_or(Value::Null, Value::from),
            first
                .and_then(|r| r.reply_code)
                .map_or(Value::Null, |c| Value::from(c.to_string())),
            match parsed.kind {
                Kind::Complaint => Value::Null,
                _ => first.map_or(Value::Null, |r| Value::from(r.hard)),
            },
            parsed
                .complaint
                .as_ref()
                .map_or(Value::Null, |c| Value::from(c.feedback_type.clone())),
        ];
        if std::env::var("HERALD_FIXTURES_VERBOSE").is_ok_and(|v| v == "1") {
            println!(
                "{file:32} expected {:16} {:5} got {:16} {:5}",
                case["reason"].as_str().unwrap_or("-"),
                case["hard"].to_string(),
                first.map_or("-", |r| r.reason.name()),
                got[4].to_string(),
            );
        }
        for (i, field) in FIELDS.iter().enumerate() {
            let want = match (field, &case[field]) {
                (&"recipient", Value::String(s)) => Value::from(s.to_lowercase()),
                (_, value) => value.clone(),
            };
            if got[i] == want {
                matches[i] += 1;
            } else {
                differences.push(format!(
                    "{file:32} {field:13} expected {want} got {} ({:?})",
                    got[i],
                    first.map(|r| r.reason)
                ));
            }
        }
    }
    println!("fixture match rates ({} fixtures):", expected.len());
    for (field, n) in FIELDS.iter().zip(matches) {
        println!("  {field:13} {n:3}/{}", expected.len());
    }
    println!("differences:\n  {}", differences.join("\n  "));
    // Floors a little under today's rates: a regression fails, small churn does not.
    let floors = [97, 96, 97, 96, 93, 99];
    for ((field, n), floor) in FIELDS.iter().zip(matches).zip(floors) {
        assert!(
            n >= floor,
            "{field}: {n} matches, expected at least {floor}"
        );
    }
}

/// Agreement with Sisimai's hard/soft verdict on a hold-out of real bounces kept outside the
/// repository (never committed): `HERALD_HOLDOUT_DIR` holds the messages and `holdout.json`,
/// a list of `{"file", "mta", "reason", "hard"}` taken from Sisimai's own test tables.
/// Skips when the variable is unset. Prints agreement overall and per MTA, and each
/// disagreement with the reason Herald chose.
#[test]
fn holdout_corpus_agreement() {
    let Ok(dir) = std::env::var("HERALD_HOLDOUT_DIR").map(PathBuf::from) else {
        println!("SKIPPED: HERALD_HOLDOUT_DIR not set");
        return;
    };
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("holdout.json")).unwrap()).unwrap();
    let mut per_mta: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut agree = 0;
    let mut unread = 0;
    let mut disagreements = Vec::new();
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        let mta = case["mta"].as_str().unwrap().to_string();
        let want = case["hard"].as_bool().unwrap();
        let parsed = feedback::parse(&std::fs::read(dir.join(file)).unwrap());
        let first = parsed.recipients.first();
        let got = first.is_some_and(|r| r.hard);
        let entry = per_mta.entry(mta).or_default();
        entry.1 += 1;
        // A message not read as a bounce at all gives no verdict: it never agrees.
        if first.is_none() {
            unread += 1;
        }
        if first.is_some() && got == want {
            agree += 1;
            entry.0 += 1;
        } else {
            disagreements.push(format!(
                "{file:34} sisimai {:15} {want:5} herald {:15} {got:5} status {:?} reply {:?} kind {:?}",
                case["reason"].as_str().unwrap_or("-"),
                first.map_or("-", |r| r.reason.name()),
                first.and_then(|r| r.status.clone()),
                first.and_then(|r| r.reply_code),
                parsed.kind,
            ));
        }
    }
    println!(
        "hold-out agreement: {agree}/{} ({:.1}%) over {} MTAs; {unread} not read as feedback",
        cases.len(),
        100.0 * agree as f64 / cases.len().max(1) as f64,
        per_mta.len()
    );
    for (mta, (ok, n)) in &per_mta {
        println!("  {mta:16} {ok:3}/{n}");
    }
    println!("disagreements:\n  {}", disagreements.join("\n  "));
}
