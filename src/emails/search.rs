//! A team's emails, newest first, narrowed by filters that combine: status (the last event),
//! sender, recipient, subject (each "contains", case-insensitive), a time range and a tag.
//! Pages are keyset pages on `(created_at, id)` like every list (never `OFFSET`): the scan
//! walks the team's index in order and stops once a page of matches is found.

use super::error::EmailResult;
use super::store::{EmailRow, LIST_COLUMNS};
use crate::clock::Millis;
use crate::filters::{DATE_PROBLEM, day_range, text_param};
use crate::handle::App;
use crate::on_db;
use crate::store::page::{ListResponse, Page};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EmailFilter {
    /// One of [`super::events::ALL`]: the email's `last_event`.
    pub status: Option<String>,
    pub from: Option<String>,
    /// Matches the `to` addresses.
    pub to: Option<String>,
    pub subject: Option<String>,
    /// Accepted at or after this time.
    pub since: Option<Millis>,
    /// Accepted before this time.
    pub until: Option<Millis>,
    pub tag: Option<TagFilter>,
}

/// `name` (any value) or `name:value` (exactly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    pub name: String,
    pub value: Option<String>,
}

impl TagFilter {
    /// Reads `name` or `name:value`; blank gives `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let (name, value) = match text.split_once(':') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_string())),
            None => (text, None),
        };
        Some(Self {
            name: name.to_string(),
            value,
        })
    }
}

impl std::fmt::Display for TagFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}:{value}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl EmailFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

/// `%text%` for LIKE, with the wildcards in `text` taken literally.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The WHERE fragment and its binds (numbered from `$3`: the page binds `$1` and `$2`).
fn conditions(filter: &EmailFilter, postgres: bool) -> (String, Vec<Bind>) {
    let mut parts = vec!["TRUE".to_string()];
    let mut binds = Vec::new();
    let mut bind = |value: Bind| {
        binds.push(value);
        binds.len() + 2
    };
    // Case-insensitive "contains": PostgreSQL's LIKE is case-sensitive, SQLite's is not
    // (for ASCII).
    let like = if postgres { "ILIKE" } else { "LIKE" };
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if let Some(status) = text(&filter.status) {
        parts.push(format!("last_event = ${}", bind(Bind::Text(status))));
    }
    for (column, value) in [
        ("from_address", &filter.from),
        ("to_addresses", &filter.to),
        ("subject", &filter.subject),
    ] {
        if let Some(value) = text(value) {
            let n = bind(Bind::Text(contains_pattern(&value)));
            parts.push(format!("{column} {like} ${n} ESCAPE '\\'"));
        }
    }
    if let Some(since) = filter.since {
        parts.push(format!("created_at >= ${}", bind(Bind::Int(since))));
    }
    if let Some(until) = filter.until {
        parts.push(format!("created_at < ${}", bind(Bind::Int(until))));
    }
    if let Some(tag) = &filter.tag {
        // Tags are a JSON array of {name, value}; each backend reads JSON its own way.
        let (elements, name, value) = if postgres {
            (
                "jsonb_array_elements(emails.tags::jsonb) t",
                "t ->> 'name'",
                "t ->> 'value'",
            )
        } else {
            (
                "json_each(emails.tags) t",
                "json_extract(t.value, '$.name')",
                "json_extract(t.value, '$.value')",
            )
        };
        let mut test = format!("{name} = ${}", bind(Bind::Text(tag.name.clone())));
        if let Some(v) = &tag.value {
            test.push_str(&format!(" AND {value} = ${}", bind(Bind::Text(v.clone()))));
        }
        parts.push(format!("EXISTS (SELECT 1 FROM {elements} WHERE {test})"));
    }
    (parts.join(" AND "), binds)
}

/// One page of the team's emails matching `filter`, newest first.
pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    filter: &EmailFilter,
) -> EmailResult<ListResponse<EmailRow>> {
    let (filter_sql, binds) = conditions(filter, app.db().is_postgres());
    let sql = page.sql(LIST_COLUMNS, "emails", &filter_sql);
    let rows = on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, EmailRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(team_id)
            .bind(page.cursor_id());
        for value in &binds {
            query = match value {
                Bind::Text(text) => query.bind(text),
                Bind::Int(n) => query.bind(*n),
            };
        }
        query.fetch_all(pool).await
    })?;
    Ok(page.finish(rows))
}

/// The list's filters as a query string gives them (the dashboard's Emails page, an export).
#[derive(Debug, Default, serde::Deserialize)]
pub struct FilterParams {
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub tag: Option<String>,
}

/// The filters as [`list`] takes them; a date that does not read is reported.
pub fn read_filter(params: &FilterParams) -> (EmailFilter, Option<&'static str>) {
    let (since, until, bad_date) = day_range(&params.since, &params.until);
    let filter = EmailFilter {
        status: text_param(&params.status).filter(|s| super::events::ALL.contains(&s.as_str())),
        from: text_param(&params.from),
        to: text_param(&params.to),
        subject: text_param(&params.subject),
        since,
        until,
        tag: params.tag.as_deref().and_then(TagFilter::parse),
    };
    (filter, bad_date.then_some(DATE_PROBLEM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters() {
        assert_eq!(TagFilter::parse("  "), None);
        let bare = TagFilter::parse("category").unwrap();
        assert_eq!((bare.name.as_str(), bare.value), ("category", None));
        let pair = TagFilter::parse("category:welcome").unwrap();
        assert_eq!(pair.value.as_deref(), Some("welcome"));
        assert_eq!(pair.to_string(), "category:welcome");
    }

    #[test]
    fn filters_combine_with_numbered_binds() {
        let filter = EmailFilter {
            status: Some("bounced".into()),
            subject: Some("50%_off".into()),
            since: Some(1),
            tag: TagFilter::parse("kind:x"),
            ..EmailFilter::default()
        };
        let (sql, binds) = conditions(&filter, true);
        assert_eq!(binds.len(), 5);
        assert!(sql.contains("last_event = $3"), "{sql}");
        assert!(sql.contains("subject ILIKE $4"), "{sql}");
        assert!(sql.contains("created_at >= $5"), "{sql}");
        assert!(sql.contains("t ->> 'value' = $7"), "{sql}");
        assert!(matches!(&binds[1], Bind::Text(p) if p == "%50\\%\\_off%"));
        assert_eq!(conditions(&EmailFilter::default(), false).0, "TRUE");
    }
}
