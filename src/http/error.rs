//! Renders [`AppError`] as Resend's error body: `{"statusCode", "message", "name"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "statusCode": self.status,
            "message": self.message,
            "name": self.name,
        });
        (status, Json(body)).into_response()
    }
}

pub async fn not_found() -> AppError {
    AppError::not_found("The requested endpoint does not exist.")
}

pub async fn method_not_allowed() -> AppError {
    AppError::new(
        405,
        "method_not_allowed",
        "Method is not allowed for the requested path.",
    )
}
