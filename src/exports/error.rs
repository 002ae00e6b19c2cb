//! What the exports service refuses, in its own words and without HTTP: the outer layer
//! maps each case to a page (the dashboard, the only caller) or Resend's error body
//! (`http::error`).

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The team has no such export.
    #[error("Export not found")]
    NotFound,
    /// The export's file is gone (expired meanwhile).
    #[error("Export file not found")]
    FileNotFound,
    /// A failure under the service (the database, the queue, a list's filters), passed
    /// through.
    #[error(transparent)]
    Other(#[from] AppError),
}

pub type ExportResult<T> = Result<T, ExportError>;

crate::passes_through!(
    ExportError: sqlx::Error,
    crate::store::sql::StoreError,
    // The lists an export reads.
    crate::audience::properties::PropertyError,
    crate::audience::contacts::ContactError,
    crate::audience::segments::SegmentError,
    crate::auth::AuthError,
    crate::emails::error::EmailError,
    crate::broadcasts::error::BroadcastError,
    crate::domains::DomainError,
);
