//! `AppError`, Resend's error triple (`statusCode`, `name`, `message`), which the HTTP layer
//! renders and the dashboard shows the message of; services never return it: they return
//! their own error types, which `http::error` maps to it. [`Failure`] is what a service
//! passes on from under it (the database, a statement list, JSON, the memory budget, an
//! unexpected error), mapped here as its source is.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub status: u16,
    pub name: &'static str,
    pub message: String,
}

pub type AppResult<T> = Result<T, AppError>;

/// What a service passes on from under it, unchanged: the database, a statement list, JSON
/// encoding, the memory budget, or an unexpected failure. It is no refusal of the service;
/// `http::error` maps it as it maps its source. Its `Display` is the message the client
/// reads.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{}", database_message(.0))]
    Database(#[from] sqlx::Error),
    #[error("{}", store_message(.0))]
    Store(#[from] crate::store::sql::StoreError),
    #[error("{JSON_MESSAGE}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Busy(#[from] crate::budget::Busy),
    #[error("{}", unexpected_message(.0))]
    Unexpected(#[from] anyhow::Error),
}

impl Failure {
    /// Whether a client may be told to try again as it is (a statement list's conflict):
    /// the only failure that is answered with a 4xx.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Failure::Store(crate::store::sql::StoreError::Conflict)
        )
    }
}

const DATABASE_UNAVAILABLE: &str = "The database is unavailable for now; retry later.";
const DATABASE_FAILED: &str = "An unexpected error occurred while accessing the database.";
const JSON_MESSAGE: &str = "An unexpected error occurred while encoding data.";
const UNEXPECTED: &str = "An unexpected error occurred.";

fn database_message(err: &sqlx::Error) -> &'static str {
    if database_unavailable(err) {
        DATABASE_UNAVAILABLE
    } else {
        DATABASE_FAILED
    }
}

fn store_message(err: &crate::store::sql::StoreError) -> String {
    match err {
        crate::store::sql::StoreError::Database(err) => database_message(err).to_string(),
        conflict => conflict.to_string(),
    }
}

fn unexpected_message(err: &anyhow::Error) -> String {
    if let Some(app) = err.downcast_ref::<AppError>() {
        return app.message.clone();
    }
    if database_unavailable_in(err) {
        DATABASE_UNAVAILABLE.to_string()
    } else {
        UNEXPECTED.to_string()
    }
}

/// Lets a service's own error type (`DomainError`, `TemplateError`…) take what comes from
/// under the service (the database, JSON encoding, the budget) into its `Failed(Failure)`
/// variant unchanged, so `?` works on those calls.
#[macro_export]
macro_rules! passes_through {
    ($error:ident: $($from:ty),+ $(,)?) => {
        $(
            impl From<$from> for $error {
                fn from(err: $from) -> Self {
                    $error::Failed($crate::error::Failure::from(err))
                }
            }
        )+
    };
}

/// The memory budget refused: 503 `service_unavailable` (`http::guard` adds `Retry-After`).
impl From<crate::budget::Busy> for AppError {
    fn from(err: crate::budget::Busy) -> Self {
        Self::new(503, "service_unavailable", err.to_string())
    }
}

/// Declares a service's error type: its own refusals as written, then one variant per other
/// module (a service, the shared field rules) whose errors it passes through unchanged
/// (`passes [Variant(Error), …]`, each filled by `?`), and `Failed(Failure)` for what comes from under it (`fails [sqlx::Error,
/// …]`: the types `?` turns into it, see [`passes_through!`]).
#[macro_export]
macro_rules! service_error {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($own:tt)* }
        passes [ $($variant:ident($from:ty)),* $(,)? ]
        fails [ $($failure:ty),+ $(,)? ]
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        $vis enum $name {
            $($own)*
            $(
                /// A refusal or failure of another module (a service, a shared rule), passed
                /// through.
                #[error(transparent)]
                $variant(#[from] $from),
            )*
            /// A failure under the service (the database, a statement list, JSON, the
            /// budget, an unexpected error), passed through.
            #[error(transparent)]
            Failed($crate::error::Failure),
        }

        $crate::passes_through!($name: $($failure),+);
    };
}

impl From<Failure> for AppError {
    fn from(err: Failure) -> Self {
        match err {
            Failure::Database(err) => err.into(),
            Failure::Store(err) => err.into(),
            Failure::Json(err) => err.into(),
            Failure::Busy(err) => err.into(),
            Failure::Unexpected(err) => err.into(),
        }
    }
}

impl AppError {
    pub fn new(status: u16, name: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            name,
            message: message.into(),
        }
    }

    /// 422 `validation_error`: a field has a bad value; the message names the field.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(422, "validation_error", message)
    }

    /// 422 `missing_required_field`, e.g. ``Missing `email` field.``
    pub fn missing_field(field: &str) -> Self {
        Self::new(
            422,
            "missing_required_field",
            format!("Missing `{field}` field."),
        )
    }

    /// 422 `invalid_parameter`, used for malformed ids in paths.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(422, "invalid_parameter", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn restricted_api_key() -> Self {
        Self::new(
            401,
            "restricted_api_key",
            "This API key is restricted to only send emails.",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal_server_error", message)
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.name, self.message)
    }
}

impl std::error::Error for AppError {}

/// Whether `err` says the database cannot be reached right now (no connection within the
/// pool's acquire timeout, a connection lost, the server shutting down or starting up) rather
/// than that a query is wrong: the request may succeed when retried.
pub fn database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exception; 57P01–57P03: admin/crash shutdown, cannot
            // connect now; 53300: too many connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Whether any cause in `err`'s chain is a [`database_unavailable`] error.
pub fn database_unavailable_in(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<sqlx::Error>()
            .is_some_and(database_unavailable)
    })
}

impl AppError {
    /// 503 `service_unavailable`: the database cannot be reached for now.
    pub fn unavailable() -> Self {
        Self::new(503, "service_unavailable", DATABASE_UNAVAILABLE)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if database_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::unavailable();
        }
        tracing::error!(error = %err, "database error");
        Self::internal(DATABASE_FAILED)
    }
}

/// A statement list's conflict is 409 `concurrent_write` (the request may be retried); a
/// database error is as above.
impl From<crate::store::sql::StoreError> for AppError {
    fn from(err: crate::store::sql::StoreError) -> Self {
        match err {
            crate::store::sql::StoreError::Conflict => {
                Self::new(409, "concurrent_write", err.to_string())
            }
            crate::store::sql::StoreError::Database(err) => err.into(),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        if let Some(app) = err.downcast_ref::<AppError>() {
            return app.clone();
        }
        if database_unavailable_in(&err) {
            tracing::warn!(error = ?err, "database unavailable");
            return Self::unavailable();
        }
        tracing::error!(error = ?err, "unexpected error");
        Self::internal(UNEXPECTED)
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        tracing::error!(error = %err, "json error");
        Self::internal(JSON_MESSAGE)
    }
}
