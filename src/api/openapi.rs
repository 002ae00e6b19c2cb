//! `/openapi.json`: the OpenAPI document of the paths Herald serves, built from the handlers'
//! `#[utoipa::path]` declarations. Schema names follow Resend's spec so the two can be
//! compared (tests/api/openapi.rs does).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, SecurityRequirement,
};

pub fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Herald")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Self-hosted email platform speaking Resend's REST API. Authenticate with \
                     `Authorization: Bearer re_…`.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearerAuth",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .security(Some(vec![SecurityRequirement::new(
            "bearerAuth",
            Vec::<String>::new(),
        )]))
        .build()
}

static DOCUMENT: OnceLock<String> = OnceLock::new();

pub fn document() -> &'static str {
    DOCUMENT.get_or_init(|| {
        let (_, spec) = super::routes_and_spec();
        spec.to_json().unwrap_or_else(|_| "{}".to_string())
    })
}

pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
