//! Rules on request fields that several services share, with Resend's refusals: a leaf
//! module under every layer, like `files` and `clock`.

use crate::error::{AppError, AppResult};

/// A required `name`: trimmed, not blank (422 `missing_required_field`), at most
/// `max_chars` characters (422 `validation_error`). API keys, topics, segments and
/// templates name things this way.
pub fn required_name(name: Option<&str>, max_chars: usize) -> AppResult<&str> {
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(AppError::missing_field("name"));
    }
    if name.chars().count() > max_chars {
        return Err(AppError::validation(format!(
            "The `name` field must be at most {max_chars} characters."
        )));
    }
    Ok(name)
}
