//! What the templates service refuses, in its own words and without HTTP: the outer layer
//! maps each case to Resend's status and error name (`http::error`), or to a page.

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
    /// A refusal or failure of emails, passed through.
    #[error(transparent)]
    Email(Box<crate::emails::error::EmailError>),
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type TemplateResult<T> = Result<T, TemplateError>;

crate::passes_through!(TemplateError: sqlx::Error, crate::store::sql::StoreError, crate::budget::Busy, serde_json::Error);

impl From<crate::emails::error::EmailError> for TemplateError {
    fn from(err: crate::emails::error::EmailError) -> Self {
        TemplateError::Email(Box::new(err))
    }
}

impl TemplateError {
    /// Whether this is a failure under the service rather than a refusal (see
    /// `EmailError::is_failure`).
    pub fn is_failure(&self) -> bool {
        match self {
            TemplateError::Failed(err) => !err.is_conflict(),
            TemplateError::Email(err) => err.is_failure(),
            _ => false,
        }
    }
}
