//! `/domains`: create (with its DKIM key and the records to publish), list, get (records with
//! per-record status, plus Herald's `dmarc` and `bimi` findings), update, delete, verify.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::domains::bimi::BimiReport;
use crate::domains::records::DomainRecord;
use crate::domains::report::DmarcReport;
use crate::domains::{self, Domain, DomainInput, RecordState};
use crate::error::AppResult;
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update, remove))
        .routes(routes!(verify))
}

/// Sending and receiving switches of a domain.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct DomainCapabilities {
    /// `enabled` (default) or `disabled`.
    #[schema(example = "enabled")]
    sending: Option<String>,
    /// `enabled` or `disabled` (default).
    #[schema(example = "disabled")]
    receiving: Option<String>,
}

/// Body of `POST /domains`. Fields are optional in Rust so a missing `name` gets Resend's
/// `missing_required_field` error.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateDomainRequest {
    /// The domain, e.g. `updates.example.com`. Internationalised names are stored as A-labels.
    #[schema(required = true)]
    name: Option<String>,
    /// `us-east-1` (default), `eu-west-1`, `sa-east-1` or `ap-northeast-1`.
    #[schema(example = "us-east-1")]
    region: Option<String>,
    /// Subdomain used in the Return-Path address; `send` by default.
    custom_return_path: Option<String>,
    open_tracking: Option<bool>,
    click_tracking: Option<bool>,
    /// `opportunistic` (default) or `enforced`.
    tls: Option<String>,
    capabilities: Option<DomainCapabilities>,
    /// Subdomain for open and click tracking links.
    tracking_subdomain: Option<String>,
}

/// Body of `PATCH /domains/{id}`. `region`, `name` and `custom_return_path` are accepted only
/// to explain that they cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateDomainOptions {
    open_tracking: Option<bool>,
    click_tracking: Option<bool>,
    tls: Option<String>,
    capabilities: Option<DomainCapabilities>,
    /// A new tracking subdomain; `null` or `""` removes it.
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    tracking_subdomain: Option<Option<String>>,
    region: Option<String>,
    name: Option<String>,
    custom_return_path: Option<String>,
}

/// A domain as `GET /domains/{id}` returns it: its list item's fields and the rest.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Domain)]
pub struct DomainView {
    object: &'static str,
    #[serde(flatten)]
    item: ListDomainsItem,
    tracking_subdomain: Option<String>,
    records: Vec<DomainRecord>,
    /// Herald extension: `opportunistic` or `enforced`.
    tls: String,
    /// Herald extension: the Return-Path subdomain.
    custom_return_path: String,
    /// Herald extension: the DMARC record(s) found at the last check (`null` before one).
    dmarc: Option<DmarcReport>,
    /// Herald extension: the BIMI record and whether the logo can show.
    bimi: Option<BimiReport>,
}

impl DomainView {
    fn new(d: Domain, records: Vec<RecordState>) -> Self {
        let (dmarc, bimi) = match d.auth_report() {
            Some(r) => (Some(r.dmarc), Some(r.bimi)),
            None => (None, None),
        };
        Self {
            object: "domain",
            item: ListDomainsItem::from(&d),
            records: records.iter().map(DomainRecord::new).collect(),
            tracking_subdomain: d.tracking_subdomain,
            tls: d.tls,
            custom_return_path: d.custom_return_path,
            dmarc,
            bimi,
        }
    }
}

/// `POST /domains` answers with the whole domain.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
pub struct CreateDomainResponse(DomainView);

#[derive(Debug, Serialize, ToSchema)]
pub struct ListDomainsItem {
    id: String,
    name: String,
    /// `not_started`, `pending`, `verified`, `failed` or `temporary_failure`.
    status: String,
    created_at: String,
    region: String,
    open_tracking: bool,
    click_tracking: bool,
    capabilities: DomainCapabilities,
}

impl From<&Domain> for ListDomainsItem {
    fn from(d: &Domain) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            status: d.status.clone(),
            created_at: resend_timestamp(d.created_at),
            region: d.region.clone(),
            open_tracking: d.open_tracking,
            click_tracking: d.click_tracking,
            capabilities: DomainCapabilities {
                sending: Some(d.sending.clone()),
                receiving: Some(d.receiving.clone()),
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListDomainsResponse {
    object: &'static str,
    has_more: bool,
    data: Vec<ListDomainsItem>,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateDomainResponseSuccess {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyDomainResponse {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeleteDomainResponse {
    object: &'static str,
    id: String,
    deleted: bool,
}

/// The service's input from a create or an update body: both carry the same fields (an
/// update's `name`, `region` and `custom_return_path` only to be refused when they differ),
/// and `tracking_subdomain` as the route reads it (an update tells absent from `null`).
macro_rules! domain_input {
    ($body:ident, $tracking_subdomain:expr) => {{
        let (sending, receiving) = $body
            .capabilities
            .map(|c| (c.sending, c.receiving))
            .unwrap_or_default();
        DomainInput {
            name: $body.name,
            region: $body.region,
            custom_return_path: $body.custom_return_path,
            open_tracking: $body.open_tracking,
            click_tracking: $body.click_tracking,
            tls: $body.tls,
            sending,
            receiving,
            tracking_subdomain: $tracking_subdomain,
        }
    }};
}

async fn view(app: &App, domain: Domain) -> AppResult<DomainView> {
    let records = domains::records(app, &domain).await?;
    Ok(DomainView::new(domain, records))
}

#[utoipa::path(post, path = "/domains", tag = "Domains", operation_id = "domains/create",
    request_body = CreateDomainRequest,
    responses((status = 201, description = "OK", body = CreateDomainResponse)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateDomainRequest>,
) -> AppResult<Created<CreateDomainResponse>> {
    let input = domain_input!(body, Some(body.tracking_subdomain));
    let domain = domains::create(&app, &auth.team_id, input).await?;
    let view = view(&app, domain).await?;
    Ok(created(CreateDomainResponse(view)))
}

#[utoipa::path(get, path = "/domains", tag = "Domains", operation_id = "domains/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListDomainsResponse)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListDomainsResponse>> {
    let page = Page::from_query(&query, None)?;
    let found = domains::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListDomainsResponse {
        object: "list",
        has_more: found.has_more,
        data: found.data.iter().map(ListDomainsItem::from).collect(),
    }))
}

#[utoipa::path(get, path = "/domains/{domain_id}", tag = "Domains", operation_id = "domains/get",
    params(("domain_id" = String, Path, description = "The ID of the domain.")),
    responses((status = 200, description = "OK", body = DomainView)))]
async fn get_one(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<DomainView>> {
    super::require_uuid(&id, "domain_id")?;
    let domain = domains::get(&app, &auth.team_id, &id).await?;
    Ok(Json(view(&app, domain).await?))
}

#[utoipa::path(patch, path = "/domains/{domain_id}", tag = "Domains", operation_id = "domains/update",
    params(("domain_id" = String, Path, description = "The ID of the domain.")),
    request_body = UpdateDomainOptions,
    responses((status = 200, description = "OK", body = UpdateDomainResponseSuccess)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateDomainOptions>,
) -> AppResult<Json<UpdateDomainResponseSuccess>> {
    super::require_uuid(&id, "domain_id")?;
    let input = domain_input!(body, body.tracking_subdomain);
    let domain = domains::update(&app, &auth.team_id, &id, input).await?;
    Ok(Json(UpdateDomainResponseSuccess {
        object: "domain",
        id: domain.id,
    }))
}

#[utoipa::path(delete, path = "/domains/{domain_id}", tag = "Domains", operation_id = "domains/remove",
    params(("domain_id" = String, Path, description = "The ID of the domain.")),
    responses((status = 200, description = "OK", body = DeleteDomainResponse)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<DeleteDomainResponse>> {
    super::require_uuid(&id, "domain_id")?;
    domains::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(DeleteDomainResponse {
        object: "domain",
        id,
        deleted: true,
    }))
}

#[utoipa::path(post, path = "/domains/{domain_id}/verify", tag = "Domains", operation_id = "domains/verify",
    params(("domain_id" = String, Path, description = "The ID of the domain.")),
    responses((status = 200, description = "OK", body = VerifyDomainResponse)))]
async fn verify(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<VerifyDomainResponse>> {
    super::require_uuid(&id, "domain_id")?;
    let domain = domains::start_verification(&app, &auth.team_id, &id).await?;
    Ok(Json(VerifyDomainResponse {
        object: "domain",
        id: domain.id,
    }))
}
