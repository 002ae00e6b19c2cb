//! The one error type services return. It carries Resend's error triple
//! (`statusCode`, `name`, `message`), so the HTTP layer renders it as is and the dashboard
//! shows its message.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub status: u16,
    pub name: &'static str,
    pub message: String,
}

pub type AppResult<T> = Result<T, AppError>;

/// Lets a service's own error type (`DomainError`, `TemplateError`…) take what comes from
/// under the service (the database, JSON encoding, another module's refusal) into its
/// `Other(AppError)` variant unchanged, so `?` works on those calls.
#[macro_export]
macro_rules! passes_through {
    ($error:ident: $($from:ty),+ $(,)?) => {
        $(
            impl From<$from> for $error {
                fn from(err: $from) -> Self {
                    $error::Other(err.into())
                }
            }
        )+
    };
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
        Self::new(
            503,
            "service_unavailable",
            "The database is unavailable for now; retry later.",
        )
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if database_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::unavailable();
        }
        tracing::error!(error = %err, "database error");
        Self::internal("An unexpected error occurred while accessing the database.")
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
        Self::internal("An unexpected error occurred.")
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        tracing::error!(error = %err, "json error");
        Self::internal("An unexpected error occurred while encoding data.")
    }
}
