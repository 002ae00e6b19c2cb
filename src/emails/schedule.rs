//! `scheduled_at`: an ISO 8601 / RFC 3339 timestamp or a short English phrase, at most 30
//! days ahead. The phrases follow Resend's examples:
//!
//! - `in 1 min`, `in 2 hours`, `in 3 days`, `in an hour`, `in 1h 30m`;
//! - `tomorrow at 9am`, `today at 5pm`, `friday at 3pm`, `next monday at 10:30`,
//!   `at 17:00` (today, or tomorrow when that time has passed), `noon`, `midnight`;
//! - an optional zone at the end: `UTC`/`GMT`/`Z`, US abbreviations (`ET`, `EST`, `EDT`,
//!   `CT`, `MT`, `PT`, `AKT`, `HT` and their S/D forms) or an IANA name (`Europe/Paris`).
//!
//! Without a zone, phrases are read in UTC. A weekday means its next occurrence: today if
//! the time is still ahead, otherwise next week.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::{Offset, TimeZone};
use jiff::{Span, Timestamp};

use crate::clock::{Millis, to_timestamp};

/// How far ahead an email may be scheduled.
pub const MAX_AHEAD_MS: Millis = 30 * 24 * 60 * 60 * 1000;

/// Parses `input` relative to `now` and checks it is in the future and within 30 days.
/// The error is a complete sentence naming the field.
pub fn parse_scheduled_at(input: &str, now: Millis) -> Result<Millis, String> {
    let at = parse(input, to_timestamp(now)).map_err(|why| {
        format!(
            "Invalid `scheduled_at` field: {why}. Use an ISO 8601 date such as \
             `2030-01-01T09:00:00Z` or a phrase such as `in 1 hour` or `tomorrow at 9am ET`."
        )
    })?;
    let at = at.as_millisecond();
    if at < now {
        return Err("The `scheduled_at` field must be a time in the future.".into());
    }
    if at - now > MAX_AHEAD_MS {
        return Err("The `scheduled_at` field must be at most 30 days in the future.".into());
    }
    Ok(at)
}

/// The time `input` names, without the window checks.
pub fn parse(input: &str, now: Timestamp) -> Result<Timestamp, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("the value is empty".into());
    }
    if let Ok(ts) = trimmed.parse::<Timestamp>() {
        return Ok(ts);
    }
    // An ISO date and time without offset is read as UTC.
    if let Ok(dt) = trimmed.parse::<jiff::civil::DateTime>() {
        return TimeZone::UTC
            .to_zoned_datetime(dt)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    let lower = trimmed.to_lowercase();
    match lower.strip_prefix("in ") {
        Some(span) => parse_relative(span.trim(), now),
        None => parse_phrase(trimmed, now),
    }
}

/// `in <n> <unit>` (also `a`/`an` for one), or any span jiff's friendly format reads.
fn parse_relative(span: &str, now: Timestamp) -> Result<Timestamp, String> {
    let parsed = simple_span(span)
        .or_else(|| span.parse::<Span>().ok())
        .ok_or_else(|| format!("`{span}` is not a duration"))?;
    now.to_zoned_datetime(TimeZone::UTC)
        .checked_add(parsed)
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

fn simple_span(text: &str) -> Option<Span> {
    let mut words = text.split_whitespace();
    let count = match words.next()? {
        "a" | "an" | "one" => 1,
        n => n.parse::<i64>().ok()?,
    };
    let unit = words.next()?;
    if words.next().is_some() || !(0..=100_000).contains(&count) {
        return None;
    }
    let span = Span::new();
    Some(match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => span.seconds(count),
        "m" | "min" | "mins" | "minute" | "minutes" => span.minutes(count),
        "h" | "hr" | "hrs" | "hour" | "hours" => span.hours(count),
        "d" | "day" | "days" => span.days(count),
        "w" | "wk" | "wks" | "week" | "weeks" => span.weeks(count),
        _ => return None,
    })
}

enum Day {
    Today,
    Tomorrow,
    Weekday(Weekday),
}

/// `[today|tomorrow|<weekday>] [at] <time> [zone]`, in any order of day and time.
fn parse_phrase(input: &str, now: Timestamp) -> Result<Timestamp, String> {
    let mut day = None;
    let mut time = None;
    let mut zone = None;
    let mut next = false;
    let lower = input.to_lowercase();
    let original: Vec<&str> = input.split_whitespace().collect();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        match word {
            "at" | "on" | "this" => continue,
            "next" => next = true,
            "today" | "tonight" => day = Some(Day::Today),
            "tomorrow" => day = Some(Day::Tomorrow),
            "noon" => time = Some(Time::constant(12, 0, 0, 0)),
            "midnight" => time = Some(Time::constant(0, 0, 0, 0)),
            _ => {
                if let Some(w) = weekday(word) {
                    day = Some(Day::Weekday(w));
                } else if let Some(t) = clock_time(word) {
                    time = Some(t);
                } else if word.chars().all(|c| c.is_ascii_digit() || c == ':')
                    && let Some(m) = words.get(i).filter(|m| meridiem(m).is_some())
                {
                    time = Some(clock_time(&format!("{word}{m}")).ok_or("the time is not valid")?);
                    i += 1;
                } else if let Some(tz) = time_zone(word, original[i - 1]) {
                    zone = Some(tz);
                } else {
                    return Err(format!("`{}` is not understood", original[i - 1]));
                }
            }
        }
    }
    let time = time.ok_or("the phrase has no time of day (say `at 9am`)")?;
    if next && !matches!(day, Some(Day::Weekday(_))) {
        return Err("`next` must be followed by a weekday".into());
    }
    let tz = zone.unwrap_or(TimeZone::UTC);
    let today = now.to_zoned_datetime(tz.clone()).date();
    let at = |date: Date| -> Result<Timestamp, String> {
        tz.to_zoned_datetime(date.to_datetime(time))
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string())
    };
    let plus_days = |n: i64| {
        today
            .checked_add(Span::new().days(n))
            .map_err(|e| e.to_string())
    };
    match day {
        Some(Day::Today) => at(today),
        Some(Day::Tomorrow) => at(plus_days(1)?),
        Some(Day::Weekday(w)) => {
            let ahead = (w.to_monday_zero_offset() - today.weekday().to_monday_zero_offset())
                .rem_euclid(7) as i64;
            let candidate = at(plus_days(ahead)?)?;
            if ahead == 0 && (next || candidate < now) {
                at(plus_days(7)?)
            } else {
                Ok(candidate)
            }
        }
        None => {
            let candidate = at(today)?;
            if candidate < now {
                at(plus_days(1)?)
            } else {
                Ok(candidate)
            }
        }
    }
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word.trim_end_matches(',') {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" | "tues" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" | "thurs" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn meridiem(word: &str) -> Option<bool> {
    match word {
        "am" | "a.m." => Some(false),
        "pm" | "p.m." => Some(true),
        _ => None,
    }
}

/// `9am`, `9:30pm`, `09:30`, `17:00`, `21:15:30`. A bare number is not a time.
fn clock_time(word: &str) -> Option<Time> {
    let (digits, pm) = match ["am", "a.m.", "pm", "p.m."]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix).map(|d| (d, meridiem(suffix))))
    {
        Some((d, pm)) => (d, pm),
        None if word.contains(':') => (word, None),
        None => return None,
    };
    let mut parts = digits.split(':');
    let hour: i8 = parts.next()?.parse().ok()?;
    let minute: i8 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    let second: i8 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    if parts.next().is_some() {
        return None;
    }
    let hour = match pm {
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(true) if hour != 12 => hour + 12,
        Some(false) if hour == 12 => 0,
        _ => hour,
    };
    Time::new(hour, minute, second, 0).ok()
}

/// Zone abbreviations and IANA names. The generic US forms (`ET`) follow daylight saving
/// time; the explicit ones (`EST`, `EDT`) are fixed offsets. Without a time zone database on
/// the host, the generic forms fall back to standard time.
fn time_zone(lower: &str, original: &str) -> Option<TimeZone> {
    let fixed = |hours: i8| Some(TimeZone::fixed(Offset::constant(hours)));
    let named = |iana: &str, standard: i8| {
        TimeZone::get(iana)
            .ok()
            .or_else(|| Some(TimeZone::fixed(Offset::constant(standard))))
    };
    match lower {
        "utc" | "gmt" | "z" => Some(TimeZone::UTC),
        "et" => named("America/New_York", -5),
        "ct" => named("America/Chicago", -6),
        "mt" => named("America/Denver", -7),
        "pt" => named("America/Los_Angeles", -8),
        "akt" => named("America/Anchorage", -9),
        "ht" | "hst" => named("Pacific/Honolulu", -10),
        "est" => fixed(-5),
        "edt" => fixed(-4),
        "cst" => fixed(-6),
        "cdt" => fixed(-5),
        "mst" => fixed(-7),
        "mdt" => fixed(-6),
        "pst" => fixed(-8),
        "pdt" => fixed(-7),
        "akst" => fixed(-9),
        "akdt" => fixed(-8),
        _ if original.contains('/') => TimeZone::get(original).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptest_util::{cases, soup};
    use proptest::prelude::*;

    const PHRASE_PIECES: &[&str] = &[
        "in ",
        "at ",
        "tomorrow",
        "today",
        "next ",
        "friday",
        "monday",
        "noon",
        "midnight",
        "9am",
        "3pm",
        "12:",
        "30",
        "10:30",
        " ",
        "1",
        "99999999999",
        "-",
        "h",
        "m",
        "min",
        "hours",
        "days",
        "an hour",
        "ET",
        "PT",
        "UTC",
        "Z",
        "Europe/Paris",
        "Mars/Base",
        "2030-01-01T09:00:00",
        "+25:00",
        "T",
        ":",
    ];

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        fn arbitrary_phrases_never_panic(input in soup(PHRASE_PIECES, 12)) {
            let _ = parse(&input, now());
            let _ = parse_scheduled_at(&input, now().as_millisecond());
        }

        #[test]
        fn rfc3339_timestamps_read_back_exactly(seconds in -62_000_000_000i64..250_000_000_000) {
            let at = Timestamp::from_second(seconds).unwrap();
            prop_assert_eq!(parse(&at.to_string(), now()), Ok(at));
        }

        #[test]
        fn in_n_minutes_is_n_minutes_from_now(n in 1i64..=43_200) {
            let at = parse(&format!("in {n} minutes"), now()).unwrap();
            prop_assert_eq!(at.as_second() - now().as_second(), n * 60);
        }
    }

    /// Wednesday 2025-06-04 10:00:00 UTC (New York is on EDT, UTC-4).
    fn now() -> Timestamp {
        "2025-06-04T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn table() {
        let cases = [
            ("2025-06-05T08:30:00Z", "2025-06-05T08:30:00Z"),
            ("2025-06-05T08:30:00.250+02:00", "2025-06-05T06:30:00.25Z"),
            ("2025-06-05 08:30:00", "2025-06-05T08:30:00Z"),
            ("in 1 min", "2025-06-04T10:01:00Z"),
            ("in 1 minute", "2025-06-04T10:01:00Z"),
            ("In 30 mins", "2025-06-04T10:30:00Z"),
            ("in 2 hours", "2025-06-04T12:00:00Z"),
            ("in an hour", "2025-06-04T11:00:00Z"),
            ("in 3 days", "2025-06-07T10:00:00Z"),
            ("in 1 week", "2025-06-11T10:00:00Z"),
            ("in 1h 30m", "2025-06-04T11:30:00Z"),
            ("in 45 seconds", "2025-06-04T10:00:45Z"),
            ("tomorrow at 9am", "2025-06-05T09:00:00Z"),
            ("Tomorrow at 9 AM", "2025-06-05T09:00:00Z"),
            ("tomorrow 9:30pm", "2025-06-05T21:30:00Z"),
            ("today at 5pm", "2025-06-04T17:00:00Z"),
            ("today at 17:00", "2025-06-04T17:00:00Z"),
            ("today at noon", "2025-06-04T12:00:00Z"),
            ("tomorrow at midnight", "2025-06-05T00:00:00Z"),
            ("tomorrow at 12am", "2025-06-05T00:00:00Z"),
            ("tomorrow at 12pm", "2025-06-05T12:00:00Z"),
            ("friday at 3pm", "2025-06-06T15:00:00Z"),
            ("Friday at 3pm ET", "2025-06-06T19:00:00Z"),
            ("friday at 3pm EST", "2025-06-06T20:00:00Z"),
            ("friday at 3pm PT", "2025-06-06T22:00:00Z"),
            ("friday at 3pm UTC", "2025-06-06T15:00:00Z"),
            ("friday at 3pm Europe/Paris", "2025-06-06T13:00:00Z"),
            ("wednesday at 11am", "2025-06-04T11:00:00Z"),
            ("wednesday at 9am", "2025-06-11T09:00:00Z"),
            ("next wednesday at 11am", "2025-06-11T11:00:00Z"),
            ("next monday at 10:30", "2025-06-09T10:30:00Z"),
            ("at 11am", "2025-06-04T11:00:00Z"),
            ("at 9am", "2025-06-05T09:00:00Z"),
            ("3pm friday", "2025-06-06T15:00:00Z"),
        ];
        for (input, expected) in cases {
            let got = parse(input, now()).unwrap_or_else(|e| panic!("{input}: {e}"));
            let expected: Timestamp = expected.parse().unwrap();
            assert_eq!(got, expected, "{input}");
        }
    }

    #[test]
    fn refuses_nonsense() {
        for input in [
            "",
            "soon",
            "in a while",
            "tomorrow",
            "tomorrow at 25pm",
            "tomorrow at 13pm",
            "friday at 3pm XYZ",
            "next tomorrow at 9am",
            "2025-13-01T00:00:00Z",
        ] {
            assert!(parse(input, now()).is_err(), "{input:?} should fail");
        }
    }

    #[test]
    fn window() {
        let now_ms = now().as_millisecond();
        assert!(parse_scheduled_at("in 1 min", now_ms).is_ok());
        assert!(parse_scheduled_at("in 30 days", now_ms).is_ok());
        let late = parse_scheduled_at("in 31 days", now_ms).unwrap_err();
        assert!(late.contains("30 days"), "{late}");
        let past = parse_scheduled_at("2025-06-04T09:59:00Z", now_ms).unwrap_err();
        assert!(past.contains("future"), "{past}");
        let bad = parse_scheduled_at("whenever", now_ms).unwrap_err();
        assert!(bad.contains("`scheduled_at`"), "{bad}");
    }
}
