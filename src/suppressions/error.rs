//! What the suppressions service refuses, in its own words and without HTTP: the outer layer
//! maps each case to Resend's status and error name (`http::error`), or to a page.

#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// An address, an origin or an id the rules refuse; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The path names neither an entry's id nor an address.
    #[error("The `suppression` must be a suppression id (a UUID) or an email address.")]
    BadKey,
    /// The team has no such entry.
    #[error("Suppression not found")]
    NotFound,
    /// The entry was not found right after it was written (cannot happen).
    #[error("the suppression was not stored")]
    NotStored,
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type SuppressionResult<T> = Result<T, SuppressionError>;

crate::passes_through!(SuppressionError: sqlx::Error, crate::store::sql::StoreError);
