//! Resend's cursor pagination: `limit` (1–100), `after=<id>` (older items) or `before=<id>`
//! (newer items), newest first, answered as `{"object":"list","has_more","data"}`.
//! This module reads the query into a [`Page`]; the keyset SQL behind it is the store's
//! (`store::page`), so services need nothing from HTTP.

use serde::Deserialize;

pub use crate::store::page::{Cursor, ListResponse, Page};

use crate::error::{AppError, AppResult};

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl Page {
    /// Reads the query; `default_limit` is `None` for endpoints that list everything by default.
    pub fn from_query(q: &ListQuery, default_limit: Option<i64>) -> AppResult<Page> {
        let limit = match q.limit.as_deref().map(str::trim) {
            None | Some("") => default_limit,
            Some(raw) => {
                let n: i64 = raw.parse().map_err(|_| {
                    AppError::validation(
                        "The `limit` parameter must be a number between 1 and 100.",
                    )
                })?;
                if !(1..=100).contains(&n) {
                    return Err(AppError::validation(
                        "The `limit` parameter must be a number between 1 and 100.",
                    ));
                }
                Some(n)
            }
        };
        let after = q.after.as_deref().filter(|s| !s.is_empty());
        let before = q.before.as_deref().filter(|s| !s.is_empty());
        let cursor = match (after, before) {
            (Some(_), Some(_)) => {
                return Err(AppError::validation(
                    "You can only use one of the `after` or `before` parameters.",
                ));
            }
            (Some(a), None) => Cursor::After(a.to_string()),
            (None, Some(b)) => Cursor::Before(b.to_string()),
            (None, None) => Cursor::Newest,
        };
        Ok(Page { limit, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: Option<&str>, after: Option<&str>, before: Option<&str>) -> ListQuery {
        ListQuery {
            limit: limit.map(String::from),
            after: after.map(String::from),
            before: before.map(String::from),
        }
    }

    #[test]
    fn validates_limit_and_cursors() {
        assert!(Page::from_query(&q(Some("0"), None, None), None).is_err());
        assert!(Page::from_query(&q(Some("101"), None, None), None).is_err());
        assert!(Page::from_query(&q(Some("x"), None, None), None).is_err());
        assert!(Page::from_query(&q(None, Some("a"), Some("b")), None).is_err());
        let p = Page::from_query(&q(None, None, None), Some(20)).unwrap();
        assert_eq!(p.limit, Some(20));
        assert_eq!(p.cursor, Cursor::Newest);
    }
}
