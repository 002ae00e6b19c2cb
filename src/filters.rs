//! What the lists' filters share, read from a query string (a list page's, or the one
//! stored with an export): trimmed text, day ranges and the query-string reader. The
//! services read their own filters with these (`emails::search::read_filter`…), so the
//! dashboard page and the export of a list narrow it the same way.

use serde::de::DeserializeOwned;

use crate::clock::Millis;

const DAY_MS: Millis = 24 * 3600 * 1000;

/// What a list says when a date in its filters does not read.
pub const DATE_PROBLEM: &str = "Dates must be written YYYY-MM-DD. Pick them from the calendar, \
                                or type them like 2026-03-10.";

/// A query-string value, trimmed; blank is none.
pub fn text_param(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The start of a `YYYY-MM-DD` day, UTC (what `<input type=date>` sends; `YYYY/MM/DD`, and a
/// date-time whose day comes first, are read too); `None` when the text is not such a date.
pub fn day_start(text: &str) -> Option<Millis> {
    let text = text.trim();
    let day = text
        .get(..10)
        .filter(|_| text.len() == 10 || text[10..].starts_with(['T', ' ']));
    let date: jiff::civil::Date = day?.replace('/', "-").parse().ok()?;
    let zoned = date.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// `since` and `until` as a time range: from the start of `since`'s day to the end of
/// `until`'s (it names the last day wanted: everything before the next midnight), and
/// whether one of them did not read as a date.
pub fn day_range(
    since: &Option<String>,
    until: &Option<String>,
) -> (Option<Millis>, Option<Millis>, bool) {
    let mut bad_date = false;
    let mut day = |value: &Option<String>| {
        let text = text_param(value)?;
        let start = day_start(&text);
        bad_date |= start.is_none();
        start
    };
    let since = day(since);
    let until = day(until).map(|start| start + DAY_MS);
    (since, until, bad_date)
}

/// A list page's query string read into its parameters (unreadable: none).
pub fn query_params<T: DeserializeOwned + Default>(query: &str) -> T {
    let uri = format!("/?{}", query.trim_start_matches('?'));
    uri.parse::<axum::http::Uri>()
        .ok()
        .and_then(|uri| axum::extract::Query::<T>::try_from_uri(&uri).ok())
        .map(|axum::extract::Query(params)| params)
        .unwrap_or_default()
}
