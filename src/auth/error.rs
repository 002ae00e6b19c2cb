//! What the auth services (API keys, users and sessions, members, invitations) refuse, in
//! their own words and without HTTP: the outer layer maps each case to Resend's status and
//! error name (`http::error`), or to a page.

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// An API key's permission is neither `full_access` nor `sending_access`.
    #[error("Access must be \"full_access\" | \"sending_access\".")]
    InvalidAccess,
    /// Too many failed sign-ins: no password is checked for this many seconds.
    #[error("Too many failed sign-ins. Try again in {0} seconds.")]
    Throttled(i64),
    /// The change would leave the team without an admin.
    #[error("A team needs at least one admin: make another member an admin first.")]
    LastAdmin,
    /// An invitation link that opens nothing: expired, withdrawn, used or not signed by us.
    #[error(
        "This invitation link is not valid: it may have expired, been withdrawn or used \
         already. Ask an admin of the team for a new one."
    )]
    UnusableInvitation,
    /// The team has no such thing (`API key`, `Domain`, `Invitation`, `Member`, `User`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field the shared rules (`crate::fields`) refuse.
    #[error(transparent)]
    Field(#[from] crate::fields::FieldError),
    /// A refusal or failure of emails, passed through.
    #[error(transparent)]
    Email(#[from] crate::emails::error::EmailError),
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type AuthResult<T> = Result<T, AuthError>;

crate::passes_through!(AuthError: sqlx::Error, anyhow::Error);
