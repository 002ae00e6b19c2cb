//! What the webhooks service refuses, in its own words and without HTTP: the outer layer
//! maps each case to Resend's status and error name (`http::error`), or to a page.

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A required field is empty or absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The team has no such webhook.
    #[error("Webhook not found")]
    NotFound,
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type WebhookResult<T> = Result<T, WebhookError>;

crate::passes_through!(WebhookError: sqlx::Error, anyhow::Error, serde_json::Error);
