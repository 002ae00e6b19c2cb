//! Rules on request fields that several services share, with Resend's refusals: a leaf
//! module under every layer, like `files` and `clock`.

use serde::Deserialize;
use serde_json::Value;

/// A request field the shared rules refuse. Services take it into their own error type
/// (a `Field` variant); the HTTP layer answers 422 (`http::error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Absent or blank (`missing_required_field`).
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// A value the rules refuse; the message names the field (`validation_error`).
    #[error("{0}")]
    Invalid(String),
    /// A well-formed id naming nothing the team has; the message names it (`not_found`).
    #[error("{0}")]
    Unknown(String),
}

pub type FieldResult<T> = Result<T, FieldError>;

/// A key declared with a type and a fallback value, as a request gives it: a contact property
/// (`audience::properties::NewProperty`) and a template variable
/// (`templates::variables::VariableInput`) are declared alike; each service checks its own
/// keys, types and fallbacks. A body that is not an object is refused as "expected a JSON
/// object", as `serde_util::strict` refuses an array.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(expecting = "a JSON object")]
pub struct Declaration {
    pub key: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Used when no value is given; must match `type`.
    pub fallback_value: Option<Value>,
}

/// A required `name`: trimmed, not blank (422 `missing_required_field`), at most
/// `max_chars` characters (422 `validation_error`). API keys, topics, segments and
/// templates name things this way.
pub fn required_name(name: Option<&str>, max_chars: usize) -> FieldResult<&str> {
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(FieldError::Missing("name"));
    }
    if name.chars().count() > max_chars {
        return Err(FieldError::Invalid(format!(
            "The `name` field must be at most {max_chars} characters."
        )));
    }
    Ok(name)
}
