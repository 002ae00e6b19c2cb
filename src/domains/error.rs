//! What the domains service refuses, in its own words and without HTTP: the outer layer maps
//! each case to Resend's status and error name (`http::error`), or to a page (the dashboard).

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A required field is empty or absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// `region` is not one of the regions Herald serves.
    #[error("The `region` field must be one of {}.", crate::REGIONS.join(", "))]
    UnknownRegion,
    /// The team already has a domain of that name.
    #[error(
        "The domain `{0}` has already been added. To use it in another region, add a \
         subdomain of it (e.g. `eu.{0}`)."
    )]
    AlreadyAdded(String),
    /// The team has no such domain.
    #[error("Domain not found")]
    NotFound,
    /// The blocking task generating a DKIM key stopped (it panicked or was canceled).
    #[error("key generation stopped: {0}")]
    KeyGeneration(String),
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type DomainResult<T> = Result<T, DomainError>;

crate::passes_through!(DomainError: sqlx::Error, anyhow::Error);
