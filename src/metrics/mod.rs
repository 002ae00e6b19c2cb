//! Email metrics: how many emails were received, sent, delivered, bounced, opened… and the
//! rates between them, over a date range, broken down by period, sender domain, email or
//! broadcast (`GET /emails/metrics`, the dashboard's Metrics page).
//!
//! Counting is one rule ([`count_event`]) applied in two places: the hourly rollup
//! ([`rollup`]) folds the events of each ended UTC hour into `email_metrics_hourly`, and a
//! question about time the rollup has not sealed yet (the current hour, the edges of a range
//! that do not fall on whole hours, or one email) counts the events themselves. So answers
//! are exact and cost the same whatever the team's history: a week is at most 168 rollup
//! hours plus the events of the unsealed hour.

pub mod error;
pub mod rollup;

pub use error::{MetricsError, MetricsResult};

use std::collections::{BTreeMap, HashMap};

use jiff::tz::TimeZone;
use jiff::{Timestamp, Unit, ZonedDateTime as Zoned, ZonedDateTimeRound as ZonedRound};

use crate::clock::Millis;
use crate::handle::App;

/// The counted metrics, in the order Resend lists them.
pub const COUNTS: &[&str] = &[
    "received",
    "delivered",
    "complained",
    "suppressed",
    "bounced",
    "bounced_transient",
    "bounced_permanent",
    "bounced_undetermined",
    "opened",
    "clicked",
    "unsubscribed",
    "delivery_delayed",
    "failed",
    "sent",
    "unique_opened",
    "unique_clicked",
];

/// The rates: (name, numerator, denominator), each a fraction between 0 and 1.
pub const RATES: &[(&str, &str, &str)] = &[
    ("delivery_rate", "delivered", "sent"),
    ("open_rate", "unique_opened", "delivered"),
    ("click_rate", "unique_clicked", "delivered"),
    ("bounce_rate", "bounced", "sent"),
    ("complaint_rate", "complained", "delivered"),
    ("unsubscribe_rate", "unsubscribed", "delivered"),
];

/// The email event types that count toward a metric.
pub const COUNTED_EVENTS: &[&str] = &[
    "queued",
    "scheduled",
    "sent",
    "delivered",
    "delivery_delayed",
    "bounced",
    "complained",
    "suppressed",
    "failed",
    "opened",
    "clicked",
];

const MAX_IDS: usize = 100;
const MAX_PERIODS: usize = 10_000;
pub const HOUR: Millis = 3_600_000;

/// Every count metric an event of `kind` adds one to. `data` is the event's JSON (read for
/// a bounce's type); `first` says whether it is the email's first event of its kind (an
/// open or click then also counts as unique).
pub fn count_event(kind: &str, data: &str, first: bool, mut add: impl FnMut(&'static str)) {
    match kind {
        "queued" | "scheduled" => add("received"),
        "sent" => add("sent"),
        "delivered" => add("delivered"),
        "delivery_delayed" => add("delivery_delayed"),
        "complained" => add("complained"),
        "suppressed" => add("suppressed"),
        "failed" => add("failed"),
        "bounced" => {
            add("bounced");
            let kind = serde_json::from_str::<serde_json::Value>(data)
                .ok()
                .and_then(|d| d["bounce"]["type"].as_str().map(str::to_ascii_lowercase));
            add(match kind.as_deref() {
                Some("permanent") => "bounced_permanent",
                Some("transient") => "bounced_transient",
                _ => "bounced_undetermined",
            });
        }
        "opened" => {
            add("opened");
            if first {
                add("unique_opened");
            }
        }
        "clicked" => {
            add("clicked");
            if first {
                add("unique_clicked");
            }
        }
        _ => {}
    }
}

/// The sender domain of a `from` address, lowercase; empty when it cannot be read.
pub fn sender_domain(from: &str) -> String {
    crate::emails::address::Mailbox::parse(from)
        .map(|m| m.domain().to_ascii_lowercase())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hourly,
    Daily,
    Weekly,
    Monthly,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "hourly" => Self::Hourly,
            "daily" => Self::Daily,
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// The start of the period holding `at`, in `tz` (weeks start on Monday).
    fn start(self, at: &Zoned) -> Zoned {
        let truncated = |unit| {
            at.round(
                ZonedRound::new()
                    .smallest(unit)
                    .mode(jiff::RoundMode::Trunc),
            )
            .unwrap_or_else(|_| at.clone())
        };
        match self {
            Self::Hourly => truncated(Unit::Hour),
            Self::Daily => at.start_of_day().unwrap_or_else(|_| at.clone()),
            Self::Weekly => {
                let back = i64::from(at.weekday().to_monday_zero_offset());
                at.checked_sub(jiff::Span::new().days(back))
                    .and_then(|d| d.start_of_day())
                    .unwrap_or_else(|_| at.clone())
            }
            Self::Monthly => at
                .first_of_month()
                .and_then(|d| d.start_of_day())
                .unwrap_or_else(|_| at.clone()),
        }
    }

    fn next(self, start: &Zoned) -> Option<Zoned> {
        let span = match self {
            Self::Hourly => jiff::Span::new().hours(1),
            Self::Daily => jiff::Span::new().days(1),
            Self::Weekly => jiff::Span::new().weeks(1),
            Self::Monthly => jiff::Span::new().months(1),
        };
        start.checked_add(span).ok().map(|next| self.start(&next))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dimension {
    Period,
    Domain,
    Email,
    Broadcast,
}

impl Dimension {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "period" => Self::Period,
            "domain" => Self::Domain,
            "email" => Self::Email,
            "broadcast" => Self::Broadcast,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Period => "period",
            Self::Domain => "domain",
            Self::Email => "email",
            Self::Broadcast => "broadcast",
        }
    }
}

/// A metrics question, as the API's query parameters ask it (each list as given, comma
/// separated or repeated).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub timezone: Option<String>,
    pub granularity: Option<String>,
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub domain_ids: Vec<String>,
    pub email_ids: Vec<String>,
    pub broadcast_ids: Vec<String>,
}

/// A checked question.
#[derive(Debug, Clone)]
pub struct Request {
    pub start: Millis,
    pub end: Millis,
    pub tz: TimeZone,
    pub granularity: Granularity,
    pub metrics: Vec<&'static str>,
    pub dimensions: Vec<Dimension>,
    pub domain_ids: Vec<String>,
    pub email_ids: Vec<String>,
    pub broadcast_ids: Vec<String>,
}

fn invalid(message: impl Into<String>) -> MetricsError {
    MetricsError::Invalid(message.into())
}

/// Splits comma-separated values and drops empty ones.
fn split(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn uuids(values: &[String], field: &str) -> MetricsResult<Vec<String>> {
    let values = split(values);
    if values.len() > MAX_IDS {
        return Err(invalid(format!(
            "The `{field}` filter takes at most {MAX_IDS} ids."
        )));
    }
    let mut ids = Vec::with_capacity(values.len());
    for value in values {
        let id = uuid::Uuid::parse_str(&value).map_err(|_| {
            invalid(format!(
                "The `{field}` filter takes ids (UUIDs); `{value}` is not one."
            ))
        })?;
        let id = id.hyphenated().to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// An ISO 8601 date (the start of that day in `tz`, or of the next day when `end`) or
/// datetime (with an offset, or read in `tz` without one).
fn parse_date(text: &str, tz: &TimeZone, end: bool, field: &str) -> MetricsResult<Millis> {
    let text = text.trim();
    let bad = || {
        invalid(format!(
            "The `{field}` must be an ISO 8601 date or datetime, like 2026-07-01 or \
             2026-07-01T00:00:00Z; got `{text}`."
        ))
    };
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>()
        && text.contains('T')
    {
        return dt
            .to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| bad());
    }
    let date = text.parse::<jiff::civil::Date>().map_err(|_| bad())?;
    let date = if end {
        date.tomorrow().map_err(|_| bad())?
    } else {
        date
    };
    date.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| bad())
}

impl Request {
    /// Checks `params` at `now`: Resend's defaults (the last 7 days up to now, UTC, daily,
    /// every metric, no dimension) and its rules (`email` with neither the `broadcast`
    /// dimension nor `broadcast_id`, at most 100 ids per filter, at most 10,000 periods).
    pub fn from_params(params: &Params, now: Millis) -> MetricsResult<Self> {
        let tz_name = params.timezone.as_deref().map(str::trim).unwrap_or("UTC");
        let tz_name = if tz_name.is_empty() { "UTC" } else { tz_name };
        let tz = TimeZone::get(tz_name).map_err(|_| {
            invalid(format!(
                "The `timezone` must be an IANA time zone such as `America/New_York`; got \
                 `{tz_name}`."
            ))
        })?;
        let granularity = match params.granularity.as_deref().map(str::trim) {
            None | Some("") => Granularity::Daily,
            Some(text) => Granularity::parse(text).ok_or_else(|| {
                invalid(format!(
                    "The `granularity` must be one of hourly, daily, weekly, monthly; got \
                     `{text}`."
                ))
            })?,
        };
        // The range is `[start, end)`; up to now includes what happened this millisecond.
        let latest = now + 1;
        let end = match params.end_date.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_date(text, &tz, true, "end_date")?.min(latest),
            None => latest,
        };
        let start = match params
            .start_date
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        {
            Some(text) => parse_date(text, &tz, false, "start_date")?,
            None => {
                let week_ago = Timestamp::from_millisecond(end)
                    .unwrap_or(Timestamp::UNIX_EPOCH)
                    .to_zoned_datetime(tz.clone())
                    .checked_sub(jiff::Span::new().days(6))
                    .and_then(|z| z.start_of_day())
                    .map_err(|_| invalid("The date range is out of bounds."))?;
                week_ago.timestamp().as_millisecond()
            }
        };
        if start > end {
            return Err(invalid(
                "The `start_date` must be on or before the `end_date` (and not in the future).",
            ));
        }

        let mut metrics = Vec::new();
        for name in split(&params.metrics) {
            let known = COUNTS
                .iter()
                .copied()
                .chain(RATES.iter().map(|r| r.0))
                .find(|m| *m == name)
                .ok_or_else(|| {
                    invalid(format!(
                        "Unknown metric `{name}`. Metrics: {}.",
                        COUNTS
                            .iter()
                            .copied()
                            .chain(RATES.iter().map(|r| r.0))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            if !metrics.contains(&known) {
                metrics.push(known);
            }
        }
        if metrics.is_empty() {
            metrics = COUNTS
                .iter()
                .copied()
                .chain(RATES.iter().map(|r| r.0))
                .collect();
        }

        let mut dimensions = Vec::new();
        for name in split(&params.dimensions) {
            let dimension = Dimension::parse(&name).ok_or_else(|| {
                invalid(format!(
                    "Unknown dimension `{name}`. Dimensions: period, domain, email, broadcast."
                ))
            })?;
            if !dimensions.contains(&dimension) {
                dimensions.push(dimension);
            }
        }
        let domain_ids = uuids(&params.domain_ids, "domain_id")?;
        let email_ids = uuids(&params.email_ids, "email_id")?;
        let broadcast_ids = uuids(&params.broadcast_ids, "broadcast_id")?;
        let by_email = dimensions.contains(&Dimension::Email) || !email_ids.is_empty();
        let by_broadcast = dimensions.contains(&Dimension::Broadcast) || !broadcast_ids.is_empty();
        if by_email && by_broadcast {
            return Err(invalid(
                "The `email` dimension and `email_id` cannot be combined with the `broadcast` \
                 dimension or `broadcast_id`.",
            ));
        }

        let request = Self {
            start,
            end,
            tz,
            granularity,
            metrics,
            dimensions,
            domain_ids,
            email_ids,
            broadcast_ids,
        };
        if request.dimensions.contains(&Dimension::Period) {
            let periods = request.periods(MAX_PERIODS + 1).len();
            if periods > MAX_PERIODS {
                return Err(invalid(format!(
                    "The date range makes more than {MAX_PERIODS} {} periods; choose a \
                     shorter range or a coarser granularity.",
                    request.granularity.as_str()
                )));
            }
        }
        Ok(request)
    }

    fn zoned(&self, at: Millis) -> Zoned {
        Timestamp::from_millisecond(at)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.tz.clone())
    }

    /// The start of the period holding `at`.
    pub fn period_of(&self, at: Millis) -> Millis {
        self.granularity
            .start(&self.zoned(at))
            .timestamp()
            .as_millisecond()
    }

    /// The starts of the periods the range covers, at most `cap` of them.
    pub fn periods(&self, cap: usize) -> Vec<Millis> {
        let mut out = Vec::new();
        let mut at = self.granularity.start(&self.zoned(self.start));
        while out.len() < cap {
            let ms = at.timestamp().as_millisecond();
            if ms >= self.end && !out.is_empty() {
                break;
            }
            out.push(ms);
            match self.granularity.next(&at) {
                Some(next) if next.timestamp().as_millisecond() > ms => at = next,
                _ => break,
            }
        }
        out
    }

    fn has(&self, dimension: Dimension) -> bool {
        self.dimensions.contains(&dimension)
    }
}

/// One breakdown key: the dimensions asked for, `None` for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub period: Option<Millis>,
    pub domain: Option<String>,
    pub broadcast: Option<Option<String>>,
    pub email: Option<String>,
}

/// Counts per key and metric.
type Tally = HashMap<Key, HashMap<&'static str, i64>>;

/// A row of counted things before it is keyed: where (hour or exact time), from which domain
/// and broadcast, which email, and the metric.
struct Counted<'a> {
    at: Millis,
    domain: &'a str,
    broadcast_id: &'a str,
    email_id: Option<&'a str>,
    metric: &'static str,
    count: i64,
}

/// What the question returns.
#[derive(Debug, Clone)]
pub struct Report {
    pub request: Request,
    /// Every requested metric over the whole range.
    pub totals: Vec<(&'static str, serde_json::Value)>,
    /// One row per combination of the dimensions; empty without dimensions.
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub period: Option<Millis>,
    /// `(domain id if the domain still exists, domain name)`.
    pub domain: Option<(Option<String>, String)>,
    pub email_id: Option<String>,
    /// `(broadcast id, its name)`; `Some((None, None))` for emails of no broadcast.
    pub broadcast: Option<(Option<String>, Option<String>)>,
    pub values: Vec<(&'static str, serde_json::Value)>,
}

/// The figures of `counts` for `metrics`: counts as integers, rates as fractions rounded to
/// four decimals (0 when nothing was there to divide by).
fn values(
    metrics: &[&'static str],
    counts: &HashMap<&'static str, i64>,
) -> Vec<(&'static str, serde_json::Value)> {
    let get = |name: &str| counts.get(name).copied().unwrap_or(0);
    metrics
        .iter()
        .map(|metric| {
            let value = match RATES.iter().find(|r| r.0 == *metric) {
                Some((_, num, den)) => {
                    let den = get(den);
                    let rate = if den == 0 {
                        0.0
                    } else {
                        (get(num) as f64 / den as f64 * 10_000.0).round() / 10_000.0
                    };
                    serde_json::json!(rate)
                }
                None => serde_json::json!(get(metric)),
            };
            (*metric, value)
        })
        .collect()
}

/// The team's domains by lowercase name: name → id.
pub async fn team_domains(app: &App, team_id: &str) -> MetricsResult<HashMap<String, String>> {
    Ok(crate::domains::reads::names(app, team_id)
        .await?
        .into_iter()
        .map(|d| (d.name.to_ascii_lowercase(), d.id))
        .collect())
}

async fn broadcast_names(
    app: &App,
    team_id: &str,
) -> MetricsResult<HashMap<String, Option<String>>> {
    let rows = crate::broadcasts::store::names(app, team_id).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, subject)| (id, Some(name.unwrap_or(subject))))
        .collect())
}

/// Answers `request` for the team.
pub async fn report(app: &App, team_id: &str, request: Request) -> MetricsResult<Report> {
    let domains = team_domains(app, team_id).await?;
    // The names of the domains the filter asks for (an unknown id matches nothing).
    let domain_filter: Option<Vec<String>> = (!request.domain_ids.is_empty()).then(|| {
        domains
            .iter()
            .filter(|(_, id)| request.domain_ids.contains(id))
            .map(|(name, _)| name.clone())
            .collect()
    });
    let mut tally: Tally = HashMap::new();
    let mut add = |c: Counted<'_>| {
        if let Some(names) = &domain_filter
            && !names.iter().any(|n| n == c.domain)
        {
            return;
        }
        if !request.broadcast_ids.is_empty()
            && !request.broadcast_ids.iter().any(|b| b == c.broadcast_id)
        {
            return;
        }
        let key = Key {
            period: request
                .has(Dimension::Period)
                .then(|| request.period_of(c.at)),
            domain: request.has(Dimension::Domain).then(|| c.domain.to_string()),
            broadcast: request
                .has(Dimension::Broadcast)
                .then(|| (!c.broadcast_id.is_empty()).then(|| c.broadcast_id.to_string())),
            email: request
                .has(Dimension::Email)
                .then(|| c.email_id.unwrap_or_default().to_string()),
        };
        *tally.entry(key).or_default().entry(c.metric).or_default() += c.count;
    };

    // Per email, only the events know which email: count them over the whole range.
    // Otherwise whole sealed hours come from the rollup and the rest (the range's edges,
    // unsealed time) from the events.
    let by_email = request.has(Dimension::Email) || !request.email_ids.is_empty();
    let mut live = vec![(request.start, request.end)];
    if !by_email {
        let sealed = rollup::sealed_until(app).await?;
        let first_hour = (request.start + HOUR - 1).div_euclid(HOUR) * HOUR;
        let rolled_to = (request.end.div_euclid(HOUR) * HOUR).min(sealed);
        if rolled_to > first_hour {
            rollup::read(app, team_id, first_hour, rolled_to, &mut add).await?;
            live = vec![(request.start, first_hour), (rolled_to, request.end)];
        }
    }
    for (from, to) in live.into_iter().filter(|(from, to)| to > from) {
        let scope = rollup::Scope {
            team_id: Some(team_id),
            from,
            to,
            email_ids: &request.email_ids,
        };
        rollup::count_events(app, scope, &mut add).await?;
    }

    let mut totals: HashMap<&'static str, i64> = HashMap::new();
    for counts in tally.values() {
        for (metric, n) in counts {
            *totals.entry(metric).or_default() += n;
        }
    }
    // With the period alone, every period of the range is a row, empty ones too (a chart
    // needs them).
    if request.dimensions == [Dimension::Period] {
        for period in request.periods(MAX_PERIODS) {
            tally
                .entry(Key {
                    period: Some(period),
                    ..Key::default()
                })
                .or_default();
        }
    }
    let mut rows = Vec::new();
    if !request.dimensions.is_empty() {
        let names = if request.has(Dimension::Broadcast) {
            broadcast_names(app, team_id).await?
        } else {
            HashMap::new()
        };
        let sorted: BTreeMap<Key, HashMap<&'static str, i64>> = tally.into_iter().collect();
        for (key, counts) in sorted {
            rows.push(Row {
                period: key.period,
                domain: key
                    .domain
                    .map(|name| (domains.get(&name).cloned(), name.clone())),
                email_id: key.email,
                broadcast: key.broadcast.map(|id| {
                    let name = id.as_ref().and_then(|id| names.get(id).cloned().flatten());
                    (id, name)
                }),
                values: values(&request.metrics, &counts),
            });
        }
    }
    Ok(Report {
        totals: values(&request.metrics, &totals),
        rows,
        request,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn ms(text: &str) -> Millis {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn events_count_toward_their_metrics() {
        let mut got = Vec::new();
        count_event("bounced", r#"{"bounce":{"type":"Permanent"}}"#, true, |m| {
            got.push(m)
        });
        count_event("bounced", "{}", true, |m| got.push(m));
        count_event("opened", "{}", true, |m| got.push(m));
        count_event("opened", "{}", false, |m| got.push(m));
        count_event("scheduled", "{}", true, |m| got.push(m));
        count_event("nonsense", "{}", true, |m| got.push(m));
        assert_eq!(
            got,
            [
                "bounced",
                "bounced_permanent",
                "bounced",
                "bounced_undetermined",
                "opened",
                "unique_opened",
                "opened",
                "received"
            ]
        );
    }

    #[test]
    fn defaults_and_rules() {
        let now = ms("2026-07-08T12:30:00Z");
        let r = Request::from_params(&Params::default(), now).unwrap();
        assert_eq!(r.end, now + 1);
        assert_eq!(r.start, ms("2026-07-02T00:00:00Z"));
        assert_eq!(r.granularity, Granularity::Daily);
        assert_eq!(r.metrics.len(), COUNTS.len() + RATES.len());
        let bad = |p: Params| AppError::from(Request::from_params(&p, now).unwrap_err()).status;
        assert_eq!(
            bad(Params {
                metrics: vec!["sent,nope".into()],
                ..Params::default()
            }),
            422
        );
        assert_eq!(
            bad(Params {
                dimensions: vec!["email".into()],
                broadcast_ids: vec![uuid::Uuid::nil().to_string()],
                ..Params::default()
            }),
            422
        );
        assert_eq!(
            bad(Params {
                start_date: Some("2026-07-09".into()),
                end_date: Some("2026-07-01".into()),
                ..Params::default()
            }),
            422
        );
        assert_eq!(
            bad(Params {
                timezone: Some("Mars/Olympus".into()),
                ..Params::default()
            }),
            422
        );
        assert_eq!(
            bad(Params {
                start_date: Some("2020-01-01".into()),
                granularity: Some("hourly".into()),
                dimensions: vec!["period".into()],
                ..Params::default()
            }),
            422
        );
    }

    #[test]
    fn periods_follow_the_time_zone() {
        let now = ms("2026-07-08T12:00:00Z");
        let r = Request::from_params(
            &Params {
                start_date: Some("2026-07-01".into()),
                end_date: Some("2026-07-03".into()),
                timezone: Some("America/New_York".into()),
                dimensions: vec!["period".into()],
                ..Params::default()
            },
            now,
        )
        .unwrap();
        // Midnight in New York is 04:00 UTC in July; the end date is inclusive.
        assert_eq!(r.start, ms("2026-07-01T04:00:00Z"));
        assert_eq!(r.end, ms("2026-07-04T04:00:00Z"));
        assert_eq!(
            r.periods(100),
            [
                ms("2026-07-01T04:00:00Z"),
                ms("2026-07-02T04:00:00Z"),
                ms("2026-07-03T04:00:00Z")
            ]
        );
        assert_eq!(
            r.period_of(ms("2026-07-02T03:59:00Z")),
            ms("2026-07-01T04:00:00Z")
        );
        let weekly = Request {
            granularity: Granularity::Weekly,
            ..r.clone()
        };
        // 2026-07-01 is a Wednesday; its week starts on Monday 2026-06-29.
        assert_eq!(
            weekly.period_of(ms("2026-07-01T12:00:00Z")),
            ms("2026-06-29T04:00:00Z")
        );
        let monthly = Request {
            granularity: Granularity::Monthly,
            ..r
        };
        assert_eq!(
            monthly.period_of(ms("2026-07-20T12:00:00Z")),
            ms("2026-07-01T04:00:00Z")
        );
    }
}
