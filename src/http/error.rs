//! Renders [`AppError`] as Resend's error body: `{"statusCode", "message", "name"}`, and maps
//! the services' own error types to it: a service says what went wrong in its terms (a
//! `DomainError::NotFound`), and this layer chooses Resend's status and error name.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::audience::contacts::ContactError;
use crate::domains::DomainError;
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

impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        let message = err.to_string();
        match err {
            DomainError::Missing(field) => AppError::missing_field(field),
            DomainError::Invalid(_) | DomainError::AlreadyAdded(_) => AppError::validation(message),
            DomainError::UnknownRegion => AppError::new(422, "invalid_region", message),
            DomainError::NotFound => AppError::not_found(message),
            DomainError::Other(err) => err,
        }
    }
}

impl From<ContactError> for AppError {
    fn from(err: ContactError) -> Self {
        let message = err.to_string();
        match err {
            ContactError::Invalid(_) | ContactError::EmailTaken(_) => AppError::validation(message),
            ContactError::BadKey => AppError::invalid_parameter(message),
            ContactError::NotFound => AppError::not_found(message),
            ContactError::Other(err) => err,
        }
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
