//! What the emails service refuses, in its own words and without HTTP: the outer layer maps
//! each case to Resend's status and error name (`http::error`), or to a page.
//!
//! Every variant's `Display` is the message the client reads, `Failed` included (the
//! message the mapping gives what failed), so a batch can list refusals by index without
//! the HTTP layer.

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// A required field is empty or absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// Neither `html` nor `text` was given.
    #[error("Missing `html` or `text` field.")]
    MissingContent,
    /// A field has a value the rules refuse, or the email cannot change any more; the message
    /// names the field or says why.
    #[error("{0}")]
    Invalid(String),
    /// The sender is not an address.
    #[error("{0}")]
    InvalidFrom(String),
    /// An attachment is refused; the message gives its index.
    #[error("{0}")]
    InvalidAttachment(String),
    /// The caller may not do this: a key restricted to another domain, an unverified sender
    /// domain, an expired download link.
    #[error("{0}")]
    NotAllowed(String),
    /// The `Idempotency-Key` header is empty or too long.
    #[error("The key must be between 1-256 chars.")]
    InvalidIdempotencyKey,
    /// The idempotency key was used before with another request.
    #[error(
        "Same idempotency key used with a different request payload. Use a new key for a \
         different request."
    )]
    IdempotencyKeyReused,
    /// The idempotency key's first request has not finished.
    #[error(
        "Same idempotency key used while the original request is still in progress. Try again \
         later."
    )]
    IdempotencyInProgress,
    /// The team has no such email.
    #[error("Email not found")]
    NotFound,
    /// The email has no such attachment.
    #[error("Attachment not found")]
    AttachmentNotFound,
    /// The accepted emails were not committed (the writer stopped without an answer).
    #[error("The email could not be stored.")]
    NotStored,
    /// One email of a strict batch is refused: the batch is, with the email's index.
    #[error("Email at index {0}: {1}")]
    AtIndex(usize, Box<EmailError>),
    /// A refusal or failure of templates, passed through.
    #[error(transparent)]
    Template(Box<crate::templates::error::TemplateError>),
    /// A refusal or failure of contacts, passed through.
    #[error(transparent)]
    Contact(#[from] crate::audience::contacts::ContactError),
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type EmailResult<T> = Result<T, EmailError>;

crate::passes_through!(EmailError: sqlx::Error, crate::store::sql::StoreError, serde_json::Error, anyhow::Error);

impl From<crate::templates::error::TemplateError> for EmailError {
    fn from(err: crate::templates::error::TemplateError) -> Self {
        EmailError::Template(Box::new(err))
    }
}

impl EmailError {
    /// Whether this is a failure under the service (the request may work later) rather
    /// than a refusal of the request: an export's notice is retried on a failure and
    /// recorded as refused otherwise.
    pub fn is_failure(&self) -> bool {
        match self {
            EmailError::NotStored => true,
            EmailError::Failed(err) => !err.is_conflict(),
            EmailError::AtIndex(_, cause) => cause.is_failure(),
            EmailError::Template(err) => err.is_failure(),
            EmailError::Contact(err) => err.is_failure(),
            _ => false,
        }
    }
}
