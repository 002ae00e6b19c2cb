//! The Metrics page: the team's sending volume and rates over the last 7, 30 or 90 days,
//! for all domains or one, as figures, a chart and a table per domain, with the bounce and
//! complaint rates held against the limits mailbox providers enforce. It asks the same
//! question as `GET /emails/metrics` (`crate::metrics`). Every team member sees it.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use super::chart::{self, Series};
use super::format;
use super::pages::{PageError, PageResult, Shell, render};
use super::session::CurrentSession;
use crate::handle::App;
use crate::metrics::{self, Params, Report};

const SECTION: &str = "metrics";
const RANGES: &[u32] = &[7, 30, 90];
/// Above these, mailbox providers start refusing or filtering a sender's mail.
const BOUNCE_LIMIT: f64 = 0.04;
const COMPLAINT_LIMIT: f64 = 0.003;

pub fn routes() -> Router<App> {
    Router::new().route("/dashboard/metrics", get(page))
}

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    days: Option<u32>,
    domain: Option<String>,
}

struct Figure {
    id: &'static str,
    label: &'static str,
    value: String,
    note: String,
}

/// A rate held against a provider limit.
struct Limit {
    id: &'static str,
    label: &'static str,
    rate: String,
    limit: &'static str,
    over: bool,
}

struct DomainRow {
    name: String,
    sent: i64,
    delivered: i64,
    bounce_rate: String,
    complaint_rate: String,
    open_rate: String,
    click_rate: String,
}

#[derive(Template)]
#[template(path = "metrics/page.html")]
struct MetricsPage {
    shell: Shell,
    days: u32,
    ranges: &'static [u32],
    domain: String,
    domains: Vec<(String, String)>,
    figures: Vec<Figure>,
    limits: Vec<Limit>,
    chart: Option<String>,
    rows: Vec<DomainRow>,
    empty: bool,
}

fn number(values: &[(&'static str, Value)], name: &str) -> f64 {
    values
        .iter()
        .find(|(m, _)| *m == name)
        .and_then(|(_, v)| v.as_f64())
        .unwrap_or(0.0)
}

fn count(values: &[(&'static str, Value)], name: &str) -> i64 {
    number(values, name) as i64
}

fn percent(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct == 0.0 || pct >= 10.0 {
        format!("{pct:.0}%")
    } else {
        format!("{pct:.1}%")
    }
}

async fn ask(
    app: &App,
    team: &str,
    days: u32,
    domain: &str,
    dimension: &str,
) -> Result<Report, PageError> {
    let now = app.now_ms();
    let start = format::iso_date(now - i64::from(days - 1) * 86_400_000);
    let params = Params {
        start_date: Some(start),
        granularity: Some(if days > 30 { "weekly" } else { "daily" }.into()),
        dimensions: vec![dimension.into()],
        domain_ids: if domain.is_empty() {
            Vec::new()
        } else {
            vec![domain.into()]
        },
        ..Params::default()
    };
    let request = metrics::Request::from_params(&params, now).map_err(|_| PageError::BadRequest)?;
    Ok(metrics::report(app, team, request).await?)
}

async fn page(
    State(app): State<App>,
    current: CurrentSession,
    Query(params): Query<PageParams>,
) -> PageResult {
    let session = &current.session;
    let team = &session.user.team_id;
    let days = params.days.filter(|d| RANGES.contains(d)).unwrap_or(30);
    let mut domains: Vec<(String, String)> = metrics::team_domains(&app, team)
        .await?
        .into_iter()
        .map(|(name, id)| (id, name))
        .collect();
    domains.sort_by(|a, b| a.1.cmp(&b.1));
    let domain = params
        .domain
        .filter(|id| domains.iter().any(|(d, _)| d == id))
        .unwrap_or_default();

    let by_period = ask(&app, team, days, &domain, "period").await?;
    let by_domain = ask(&app, team, days, &domain, "domain").await?;
    let t = &by_period.totals;
    // (id, label, the count shown, the rate under it, what the rate is of).
    const FIGURES: &[(&str, &str, &str, &str, &str)] = &[
        (
            "delivered",
            "Delivered",
            "delivered",
            "delivery_rate",
            "sent",
        ),
        ("bounced", "Bounced", "bounced", "bounce_rate", "sent"),
        (
            "complained",
            "Complained",
            "complained",
            "complaint_rate",
            "delivered",
        ),
        (
            "opened",
            "Opened",
            "unique_opened",
            "open_rate",
            "delivered",
        ),
        (
            "clicked",
            "Clicked",
            "unique_clicked",
            "click_rate",
            "delivered",
        ),
    ];
    let mut figures = vec![Figure {
        id: "sent",
        label: "Sent",
        value: count(t, "sent").to_string(),
        note: format!("{} received", count(t, "received")),
    }];
    figures.extend(FIGURES.iter().map(|&(id, label, metric, rate, of)| Figure {
        id,
        label,
        value: count(t, metric).to_string(),
        note: format!("{} of {of}", percent(number(t, rate))),
    }));
    let limits = vec![
        Limit {
            id: "bounce-rate",
            label: "Bounce rate",
            rate: percent(number(t, "bounce_rate")),
            limit: "under 4%",
            over: number(t, "bounce_rate") >= BOUNCE_LIMIT,
        },
        Limit {
            id: "complaint-rate",
            label: "Complaint rate",
            rate: percent(number(t, "complaint_rate")),
            limit: "under 0.3%",
            over: number(t, "complaint_rate") >= COMPLAINT_LIMIT,
        },
    ];
    let empty = count(t, "received") == 0 && count(t, "sent") == 0;
    let chart = (!empty).then(|| {
        let labels: Vec<String> = by_period
            .rows
            .iter()
            .map(|r| format::iso_date(r.period.unwrap_or_default()))
            .collect();
        let series = |name: &str| -> Vec<u64> {
            by_period
                .rows
                .iter()
                .map(|r| count(&r.values, name).max(0) as u64)
                .collect()
        };
        let (sent, delivered, bounced, opened, clicked) = (
            series("sent"),
            series("delivered"),
            series("bounced"),
            series("unique_opened"),
            series("unique_clicked"),
        );
        chart::line_chart(
            "Emails sent, delivered, bounced, opened and clicked per period",
            &labels,
            &[
                Series {
                    name: "Sent",
                    colour: "#64748b",
                    values: &sent,
                },
                Series {
                    name: "Delivered",
                    colour: "#16a34a",
                    values: &delivered,
                },
                Series {
                    name: "Bounced",
                    colour: "#dc2626",
                    values: &bounced,
                },
                Series {
                    name: "Opened",
                    colour: "#4f46e5",
                    values: &opened,
                },
                Series {
                    name: "Clicked",
                    colour: "#d97706",
                    values: &clicked,
                },
            ],
        )
    });
    let rows = by_domain
        .rows
        .iter()
        .map(|r| {
            let v = &r.values;
            DomainRow {
                name: r
                    .domain
                    .as_ref()
                    .map(|(_, name)| name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "(unreadable sender)".into()),
                sent: count(v, "sent"),
                delivered: count(v, "delivered"),
                bounce_rate: percent(number(v, "bounce_rate")),
                complaint_rate: percent(number(v, "complaint_rate")),
                open_rate: percent(number(v, "open_rate")),
                click_rate: percent(number(v, "click_rate")),
            }
        })
        .collect();
    let page = MetricsPage {
        shell: Shell::in_section(session, SECTION),
        days,
        ranges: RANGES,
        domain,
        domains,
        figures,
        limits,
        chart,
        rows,
        empty,
    };
    Ok(render(StatusCode::OK, &page))
}
