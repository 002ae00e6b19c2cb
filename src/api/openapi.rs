//! `/openapi.json`: the OpenAPI document of the paths Herald serves.

use axum::Json;
use serde_json::Value;

pub async fn serve() -> Json<Value> {
    Json(serde_json::json!({
        "openapi": "3.1.0",
        "info": { "title": "Herald", "version": env!("CARGO_PKG_VERSION") },
        "paths": {}
    }))
}
