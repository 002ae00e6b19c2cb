//! What the templates service refuses, in its own words and without HTTP: the outer layer
//! maps each case to Resend's status and error name (`http::error`), or to a page.

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A required field is empty or absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The team has no such template (addressed by the path).
    #[error("Template not found")]
    NotFound,
    /// A send names a template the team does not have.
    #[error("Template `{0}` not found.")]
    Unknown(String),
    /// A field the shared rules (`crate::fields`) refuse.
    #[error(transparent)]
    Field(#[from] crate::fields::FieldError),
    /// A refusal of a shared rule (an address, a size limit) or a failure under the service
    /// (the database), passed through.
    #[error("{}", .0.message)]
    Other(#[from] AppError),
}

pub type TemplateResult<T> = Result<T, TemplateError>;

crate::passes_through!(TemplateError: sqlx::Error, crate::store::sql::StoreError, crate::budget::Busy, serde_json::Error, crate::emails::error::EmailError);
