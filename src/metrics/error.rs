//! What the metrics service refuses, in its own words and without HTTP: the outer layer maps
//! each case to Resend's status and error name (`http::error`), or to a page.

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A parameter of the request (a date, an id, a dimension) is refused; the message
    /// names it.
    #[error("{0}")]
    Invalid(String),
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type MetricsResult<T> = Result<T, MetricsError>;

crate::passes_through!(MetricsError: sqlx::Error);
