//! How times read on the dashboard: one format, "Nov 22, 2026" or "Nov 22, 2026, 14:05 UTC",
//! relative times ("3 hours ago") only with that exact time on hover, and whether a key is
//! in use.

use crate::clock::{Millis, to_timestamp};

const MINUTE: Millis = 60 * 1000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;

/// Keys unused for this long are called inactive and suggested for deletion.
pub const INACTIVE_AFTER: Millis = 30 * DAY;

/// "just now", "5 minutes ago", "yesterday", "3 months ago"…
pub fn relative(now: Millis, then: Millis) -> String {
    let age = (now - then).max(0);
    let plural = |n: Millis, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match age {
        a if a < MINUTE => "just now".to_string(),
        a if a < HOUR => plural(a / MINUTE, "minute"),
        a if a < DAY => plural(a / HOUR, "hour"),
        a if a < 2 * DAY => "yesterday".to_string(),
        a if a < 30 * DAY => plural(a / DAY, "day"),
        a if a < 365 * DAY => plural(a / (30 * DAY), "month"),
        a => plural(a / (365 * DAY), "year"),
    }
}

/// A calendar date in UTC, e.g. "Nov 2, 2026".
pub fn date(ms: Millis) -> String {
    to_timestamp(ms).strftime("%b %-d, %Y").to_string()
}

/// A date and time in UTC, e.g. "Nov 2, 2026, 14:05 UTC": the dashboard's one date format
/// ([`date`] without the time), shown as is or in the tooltip of a relative time.
pub fn exact(ms: Millis) -> String {
    to_timestamp(ms)
        .strftime("%b %-d, %Y, %H:%M UTC")
        .to_string()
}

/// The same to the second, e.g. "Nov 2, 2026, 14:05:09 UTC" (event timelines, tooltips).
pub fn exact_seconds(ms: Millis) -> String {
    to_timestamp(ms)
        .strftime("%b %-d, %Y, %H:%M:%S UTC")
        .to_string()
}

/// A calendar date as `YYYY-MM-DD` (date inputs), UTC.
pub fn iso_date(ms: Millis) -> String {
    to_timestamp(ms).strftime("%Y-%m-%d").to_string()
}

/// The three colour states of the "Last used" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Used in the last 30 days.
    Recent,
    /// Used before, but not in the last 30 days.
    Idle,
    /// Never used.
    Never,
}

impl Activity {
    pub fn of(now: Millis, last_used: Option<Millis>) -> Self {
        match last_used {
            None => Self::Never,
            Some(at) if now - at <= INACTIVE_AFTER => Self::Recent,
            Some(_) => Self::Idle,
        }
    }

    /// CSS modifier of the indicator dot.
    pub fn css(self) -> &'static str {
        match self {
            Self::Recent => "recent",
            Self::Idle => "idle",
            Self::Never => "never",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Recent => "Used in the last 30 days",
            Self::Idle => "Not used in the last 30 days",
            Self::Never => "Never used",
        }
    }
}

/// A key is worth deleting when nothing used it for 30 days (a key created today and not
/// yet used is not).
pub fn is_inactive(now: Millis, created: Millis, last_used: Option<Millis>) -> bool {
    now - last_used.unwrap_or(created) > INACTIVE_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::day_start;

    const NOW: Millis = 1_790_000_000_000;

    #[test]
    fn relative_times() {
        assert_eq!(relative(NOW, NOW), "just now");
        assert_eq!(relative(NOW, NOW + 5_000), "just now");
        assert_eq!(relative(NOW, NOW - MINUTE), "1 minute ago");
        assert_eq!(relative(NOW, NOW - 5 * MINUTE), "5 minutes ago");
        assert_eq!(relative(NOW, NOW - 3 * HOUR), "3 hours ago");
        assert_eq!(relative(NOW, NOW - 30 * HOUR), "yesterday");
        assert_eq!(relative(NOW, NOW - 12 * DAY), "12 days ago");
        assert_eq!(relative(NOW, NOW - 65 * DAY), "2 months ago");
        assert_eq!(relative(NOW, NOW - 800 * DAY), "2 years ago");
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "Jan 1, 1970");
        assert_eq!(exact(90 * MINUTE), "Jan 1, 1970, 01:30 UTC");
        assert_eq!(
            exact_seconds(90 * MINUTE + 9_000),
            "Jan 1, 1970, 01:30:09 UTC"
        );
        assert_eq!(day_start("1970-01-02"), Some(DAY));
        assert_eq!(day_start("02/01/1970"), None);
        assert_eq!(day_start(" 1970/01/02 "), Some(DAY));
        assert_eq!(day_start("1970-01-02T10:00"), Some(DAY));
        assert_eq!(day_start("1970-01-0"), None);
        assert_eq!(iso_date(DAY + HOUR), "1970-01-02");
    }

    #[test]
    fn activity_and_inactivity() {
        assert_eq!(Activity::of(NOW, None), Activity::Never);
        assert_eq!(Activity::of(NOW, Some(NOW - DAY)), Activity::Recent);
        assert_eq!(Activity::of(NOW, Some(NOW - 31 * DAY)), Activity::Idle);
        assert!(!is_inactive(NOW, NOW - DAY, None));
        assert!(is_inactive(NOW, NOW - 40 * DAY, None));
        assert!(is_inactive(NOW, NOW - 90 * DAY, Some(NOW - 31 * DAY)));
        assert!(!is_inactive(NOW, NOW - 90 * DAY, Some(NOW - DAY)));
    }
}
