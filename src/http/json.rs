//! A JSON body extractor as lenient as the official SDKs need: an empty body counts as `{}`
//! (Node sends none on body-less POSTs), unknown fields are ignored by the DTOs, and bad JSON
//! gets Resend's error body instead of axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct LenientJson<T>(pub T);

impl<S, T> FromRequest<S> for LenientJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::validation(format!("Could not read the request body: {e}")))?;
        parse_body(&bytes).map(LenientJson)
    }
}

pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let trimmed = bytes.trim_ascii();
    let text: &[u8] = if trimmed.is_empty() { b"{}" } else { trimmed };
    serde_json::from_slice(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            AppError::new(
                400,
                "validation_error",
                format!("Invalid JSON in the request body: {e}"),
            )
        } else {
            AppError::validation(format!("Invalid request body: {e}"))
        }
    })
}
