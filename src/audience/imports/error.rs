//! What the contact imports service refuses, in its own words and without HTTP: the outer
//! layer maps each case to Resend's status and error name (`http::error`), or to a page.

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A required field (the file) is absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// The file, the column map or a parameter is refused; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The team has no such import.
    #[error("Contact import not found")]
    NotFound,
    /// A refusal of a shared rule (a property type) or a failure under the service (the
    /// database, the queue), passed through.
    #[error(transparent)]
    Other(#[from] AppError),
}

pub type ImportResult<T> = Result<T, ImportError>;

crate::passes_through!(
    ImportError: sqlx::Error, crate::store::sql::StoreError,
    serde_json::Error,
    crate::audience::properties::PropertyError,
    crate::audience::segments::SegmentError,
    crate::audience::topics::TopicError,
);
