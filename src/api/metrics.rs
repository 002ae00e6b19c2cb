//! `GET /emails/metrics`: counts and rates of the team's emails over a date range, broken
//! down by period, domain, email or broadcast (see `crate::metrics`).

use axum::extract::{RawQuery, State};
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::clock::iso_timestamp;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::metrics::{self, Params, Report};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(get_metrics))
}

#[derive(Serialize, ToSchema)]
pub struct GetEmailsMetricsResponse {
    /// Always `metrics`.
    object: &'static str,
    start_date: String,
    end_date: String,
    metrics: Vec<String>,
    dimensions: Vec<String>,
    granularity: String,
    /// Every requested metric over the whole range.
    #[schema(value_type = Object)]
    totals: Map<String, Value>,
    /// One row per combination of the requested dimensions; left out without dimensions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<EmailMetricsDataRow>>)]
    data: Option<Vec<Map<String, Value>>>,
}

/// One breakdown row (documentation only: rows are built as maps). Which dimension fields
/// are present depends on the requested dimensions; each requested metric is a number.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EmailMetricsDataRow {
    /// Start of the period (ISO 8601), with the `period` dimension.
    period: Option<String>,
    /// With the `domain` dimension; null when the domain is no longer on the team.
    domain_id: Option<String>,
    domain_name: Option<String>,
    email_id: Option<String>,
    /// With the `broadcast` dimension; null for emails of no broadcast.
    broadcast_id: Option<String>,
    broadcast_name: Option<String>,
}

/// Reads the query string: each list comma-separated, repeated (`metrics=a&metrics=b`,
/// also `metrics[]=a`), or both.
fn params(query: Option<&str>) -> AppResult<Params> {
    let mut params = Params::default();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        let single = |slot: &mut Option<String>| {
            if slot.is_some() {
                return Err(AppError::validation(format!(
                    "The `{name}` parameter is given more than once."
                )));
            }
            *slot = Some(value.clone());
            Ok(())
        };
        match name.trim_end_matches("[]") {
            "start_date" => single(&mut params.start_date)?,
            "end_date" => single(&mut params.end_date)?,
            "timezone" => single(&mut params.timezone)?,
            "granularity" => single(&mut params.granularity)?,
            "metrics" => params.metrics.push(value),
            "dimensions" => params.dimensions.push(value),
            "domain_id" => params.domain_ids.push(value),
            "email_id" => params.email_ids.push(value),
            "broadcast_id" => params.broadcast_ids.push(value),
            _ => {}
        }
    }
    Ok(params)
}

/// The API's shape of a report.
pub fn body(report: &Report) -> GetEmailsMetricsResponse {
    let r = &report.request;
    let data = (!r.dimensions.is_empty()).then(|| {
        report
            .rows
            .iter()
            .map(|row| {
                let mut out = Map::new();
                if let Some(period) = row.period {
                    out.insert("period".into(), iso_timestamp(period).into());
                }
                if let Some((id, name)) = &row.domain {
                    out.insert("domain_id".into(), id.clone().into());
                    out.insert("domain_name".into(), name.clone().into());
                }
                if let Some(id) = &row.email_id {
                    out.insert("email_id".into(), id.clone().into());
                }
                if let Some((id, name)) = &row.broadcast {
                    out.insert("broadcast_id".into(), id.clone().into());
                    out.insert("broadcast_name".into(), name.clone().into());
                }
                for (metric, value) in &row.values {
                    out.insert((*metric).into(), value.clone());
                }
                out
            })
            .collect()
    });
    GetEmailsMetricsResponse {
        object: "metrics",
        start_date: iso_timestamp(r.start),
        end_date: iso_timestamp(r.end),
        metrics: r.metrics.iter().map(|m| m.to_string()).collect(),
        dimensions: r
            .dimensions
            .iter()
            .map(|d| d.as_str().to_string())
            .collect(),
        granularity: r.granularity.as_str().into(),
        totals: report
            .totals
            .iter()
            .map(|(m, v)| (m.to_string(), v.clone()))
            .collect(),
        data,
    }
}

#[utoipa::path(get, path = "/emails/metrics", tag = "Emails", operation_id = "emails/metrics",
    params(
        ("start_date" = Option<String>, Query, description = "ISO 8601 date or datetime; defaults to the start of the day 6 days before `end_date`."),
        ("end_date" = Option<String>, Query, description = "ISO 8601 date (inclusive) or datetime; clamped to now, which is the default."),
        ("timezone" = Option<String>, Query, description = "IANA time zone for the periods (default UTC)."),
        ("granularity" = Option<String>, Query, description = "hourly, daily (default), weekly or monthly."),
        ("metrics" = Option<Vec<String>>, Query, style = Form, explode = false, description = "Metrics to include (default all); comma-separated or repeated."),
        ("dimensions" = Option<Vec<String>>, Query, style = Form, explode = false, description = "period, domain, email, broadcast; `email` not with `broadcast`."),
        ("domain_id" = Option<Vec<String>>, Query, style = Form, explode = false, description = "Only these sending domains (at most 100)."),
        ("email_id" = Option<Vec<String>>, Query, style = Form, explode = false, description = "Only these emails (at most 100)."),
        ("broadcast_id" = Option<Vec<String>>, Query, style = Form, explode = false, description = "Only these broadcasts (at most 100)."),
    ),
    responses((status = 200, description = "OK", body = GetEmailsMetricsResponse)))]
async fn get_metrics(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<GetEmailsMetricsResponse>> {
    let request = metrics::Request::from_params(&params(query.as_deref())?, app.now_ms())?;
    let report = metrics::report(&app, &auth.team_id, request).await?;
    Ok(Json(body(&report)))
}
