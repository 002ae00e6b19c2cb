//! How a verification run moves a domain between statuses, as the product docs describe them:
//! `not_started` until the owner asks; `pending` while Herald looks (failed after 72 hours
//! without SPF and DKIM); `verified`; `temporary_failure` when a verified domain's records
//! disappear (back to verified when they return, failed after 72 hours). Pure functions: the
//! job feeds in the look-up results and the clock.

use std::collections::HashMap;

use super::records::RecordKey;
use super::verify::{Check, Outcome};
use crate::clock::Millis;

/// How long records may be missing before a domain fails.
pub const GIVE_UP_AFTER_MS: Millis = 72 * 3600 * 1000;

pub const NOT_STARTED: &str = "not_started";
pub const PENDING: &str = "pending";
pub const VERIFIED: &str = "verified";
pub const FAILED: &str = "failed";
pub const TEMPORARY_FAILURE: &str = "temporary_failure";

/// Whether background checks run for a domain in this status.
pub fn is_checking(status: &str) -> bool {
    matches!(status, PENDING | VERIFIED | TEMPORARY_FAILURE)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub status: String,
    /// When the owner last asked to verify (the 72 hours of `pending` count from here).
    pub verify_started_at: Option<Millis>,
    /// When a verified domain's records went missing.
    pub failing_since: Option<Millis>,
}

#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Between checks while pending or temporarily failing.
    pub verify_ms: Millis,
    /// Between checks of a verified domain.
    pub recheck_ms: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub state: State,
    pub records: Vec<(RecordKey, &'static str)>,
    /// When to look again; `None` once the domain has failed.
    pub next_check_at: Option<Millis>,
}

fn past(since: Millis, now: Millis) -> bool {
    now - since >= GIVE_UP_AFTER_MS
}

/// The statuses after a run that saw `outcomes` at `now`. `sending` tells which records
/// decide (see [`RecordKey::required`]).
pub fn step(
    sending: bool,
    current: &State,
    previous: &HashMap<RecordKey, String>,
    outcomes: &[Outcome],
    now: Millis,
    intervals: Intervals,
) -> Step {
    let required: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.key.required(sending))
        .collect();
    let all_ok = required.iter().all(|o| o.check == Check::Ok);
    let any_wrong = required.iter().any(|o| o.check == Check::Wrong);
    let started = current.verify_started_at.unwrap_or(now);

    let state = |status: &str, failing_since: Option<Millis>| State {
        status: status.to_string(),
        verify_started_at: current.verify_started_at,
        failing_since,
    };
    let state = if all_ok {
        state(VERIFIED, None)
    } else {
        match current.status.as_str() {
            // A failed look-up proves nothing: a verified domain stays verified.
            VERIFIED if !any_wrong => state(VERIFIED, None),
            VERIFIED => state(TEMPORARY_FAILURE, Some(now)),
            TEMPORARY_FAILURE => {
                let since = current.failing_since.unwrap_or(now);
                if past(since, now) {
                    state(FAILED, None)
                } else {
                    state(TEMPORARY_FAILURE, Some(since))
                }
            }
            _ if past(started, now) => state(FAILED, None),
            _ => state(PENDING, None),
        }
    };

    let records = outcomes
        .iter()
        .map(|o| {
            let before = previous.get(&o.key).map(String::as_str).unwrap_or(PENDING);
            let was_seen = matches!(before, VERIFIED | TEMPORARY_FAILURE);
            let status = match o.check {
                Check::Ok => VERIFIED,
                _ if state.status == FAILED => FAILED,
                Check::Unknown if was_seen => before_static(before),
                Check::Unknown => PENDING,
                Check::Wrong if was_seen => TEMPORARY_FAILURE,
                // Optional records (tracking, receiving) fail on the same 72-hour clock.
                Check::Wrong if past(started, now) => FAILED,
                Check::Wrong => PENDING,
            };
            (o.key, status)
        })
        .collect();

    let next_check_at = match state.status.as_str() {
        VERIFIED => Some(now + intervals.recheck_ms),
        PENDING => Some((now + intervals.verify_ms).min(started + GIVE_UP_AFTER_MS)),
        TEMPORARY_FAILURE => {
            let since = state.failing_since.unwrap_or(now);
            Some((now + intervals.verify_ms).min(since + GIVE_UP_AFTER_MS))
        }
        _ => None,
    };
    Step {
        state,
        records,
        next_check_at,
    }
}

fn before_static(status: &str) -> &'static str {
    if status == VERIFIED {
        VERIFIED
    } else {
        TEMPORARY_FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3600 * 1000;
    const INTERVALS: Intervals = Intervals {
        verify_ms: 300_000,
        recheck_ms: 6 * HOUR,
    };

    fn outcomes(spf: Check, dkim: Check, tracking: Check) -> Vec<Outcome> {
        [
            (RecordKey::SpfMx, spf),
            (RecordKey::SpfTxt, spf),
            (RecordKey::Dkim, dkim),
            (RecordKey::Tracking, tracking),
        ]
        .into_iter()
        .map(|(key, check)| Outcome {
            key,
            check,
            found: Vec::new(),
            message: None,
        })
        .collect()
    }

    fn state(status: &str, started: Option<Millis>, failing: Option<Millis>) -> State {
        State {
            status: status.into(),
            verify_started_at: started,
            failing_since: failing,
        }
    }

    fn record(step: &Step, key: RecordKey) -> &'static str {
        step.records.iter().find(|(k, _)| *k == key).unwrap().1
    }

    #[test]
    fn pending_until_spf_and_dkim_then_verified() {
        let none = HashMap::new();
        let s = step(
            true,
            &state(PENDING, Some(0), None),
            &none,
            &outcomes(Check::Ok, Check::Wrong, Check::Wrong),
            1000,
            INTERVALS,
        );
        assert_eq!(s.state.status, PENDING);
        assert_eq!(record(&s, RecordKey::SpfMx), VERIFIED);
        assert_eq!(record(&s, RecordKey::Dkim), PENDING);
        assert_eq!(s.next_check_at, Some(1000 + 300_000));
        // The optional tracking record does not hold the domain back.
        let s = step(
            true,
            &state(PENDING, Some(0), None),
            &none,
            &outcomes(Check::Ok, Check::Ok, Check::Wrong),
            2000,
            INTERVALS,
        );
        assert_eq!(s.state.status, VERIFIED);
        assert_eq!(record(&s, RecordKey::Tracking), PENDING);
        assert_eq!(s.next_check_at, Some(2000 + 6 * HOUR));
    }

    #[test]
    fn pending_fails_after_72_hours() {
        let none = HashMap::new();
        let almost = 72 * HOUR - 1000;
        let s = step(
            true,
            &state(PENDING, Some(0), None),
            &none,
            &outcomes(Check::Wrong, Check::Wrong, Check::Ok),
            almost,
            INTERVALS,
        );
        assert_eq!(s.state.status, PENDING);
        assert_eq!(
            s.next_check_at,
            Some(72 * HOUR),
            "the last check lands on the deadline"
        );
        let s = step(
            true,
            &state(PENDING, Some(0), None),
            &none,
            &outcomes(Check::Wrong, Check::Ok, Check::Ok),
            72 * HOUR,
            INTERVALS,
        );
        assert_eq!(s.state.status, FAILED);
        assert_eq!(record(&s, RecordKey::SpfMx), FAILED);
        assert_eq!(record(&s, RecordKey::Dkim), VERIFIED);
        assert_eq!(s.next_check_at, None);
    }

    #[test]
    fn verified_domains_fail_temporarily_then_recover_or_fail() {
        let seen: HashMap<_, _> = [RecordKey::SpfMx, RecordKey::SpfTxt, RecordKey::Dkim]
            .into_iter()
            .map(|k| (k, VERIFIED.to_string()))
            .collect();
        let t0 = 100 * HOUR;
        let s = step(
            true,
            &state(VERIFIED, Some(0), None),
            &seen,
            &outcomes(Check::Ok, Check::Wrong, Check::Ok),
            t0,
            INTERVALS,
        );
        assert_eq!(s.state, state(TEMPORARY_FAILURE, Some(0), Some(t0)));
        assert_eq!(record(&s, RecordKey::Dkim), TEMPORARY_FAILURE);
        assert_eq!(s.next_check_at, Some(t0 + 300_000));

        let mut now_seen = seen.clone();
        now_seen.insert(RecordKey::Dkim, TEMPORARY_FAILURE.to_string());
        let back = step(
            true,
            &s.state,
            &now_seen,
            &outcomes(Check::Ok, Check::Ok, Check::Ok),
            t0 + HOUR,
            INTERVALS,
        );
        assert_eq!(back.state, state(VERIFIED, Some(0), None));

        let still = step(
            true,
            &s.state,
            &now_seen,
            &outcomes(Check::Ok, Check::Wrong, Check::Ok),
            t0 + 71 * HOUR,
            INTERVALS,
        );
        assert_eq!(still.state.status, TEMPORARY_FAILURE);
        let gone = step(
            true,
            &s.state,
            &now_seen,
            &outcomes(Check::Ok, Check::Wrong, Check::Ok),
            t0 + 72 * HOUR,
            INTERVALS,
        );
        assert_eq!(gone.state.status, FAILED);
        assert_eq!(record(&gone, RecordKey::Dkim), FAILED);
        assert_eq!(gone.next_check_at, None);
    }

    #[test]
    fn receive_only_domains_need_their_mx() {
        let mut checks = outcomes(Check::Wrong, Check::Wrong, Check::Wrong);
        checks.push(Outcome {
            key: RecordKey::Receiving,
            check: Check::Ok,
            found: Vec::new(),
            message: None,
        });
        let s = step(
            false,
            &state(PENDING, Some(0), None),
            &HashMap::new(),
            &checks,
            HOUR,
            INTERVALS,
        );
        assert_eq!(s.state.status, VERIFIED);
        assert_eq!(record(&s, RecordKey::Dkim), PENDING);
    }

    #[test]
    fn failed_look_ups_change_nothing() {
        let seen: HashMap<_, _> = [(RecordKey::Dkim, VERIFIED.to_string())]
            .into_iter()
            .collect();
        let s = step(
            true,
            &state(VERIFIED, Some(0), None),
            &seen,
            &outcomes(Check::Ok, Check::Unknown, Check::Ok),
            HOUR,
            INTERVALS,
        );
        assert_eq!(s.state.status, VERIFIED);
        assert_eq!(record(&s, RecordKey::Dkim), VERIFIED);
    }
}
