//! Contact properties: typed custom fields a contact may carry (`string` or `number`), each
//! with an optional fallback value. Keys are case-sensitive. The defaults `email`,
//! `first_name`, `last_name` and `unsubscribed` always exist and are the contact's own fields.
//!
//! A contact write whose properties name an unknown key or carry a wrongly typed value is
//! refused as a whole ([`Schema::check`]), before anything is written.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sqlx::FromRow;

use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Stmt};

pub const MAX_KEY_LEN: usize = 50;

/// What the contact properties service refuses, without HTTP: `http::error` maps each case
/// to Resend's status and error name.
#[derive(Debug, thiserror::Error)]
pub enum PropertyError {
    /// A required field is empty or absent.
    #[error("Missing `{0}` field.")]
    Missing(&'static str),
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The team has no such property (or none the API shows).
    #[error("Contact property not found")]
    NotFound,
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type PropertyResult<T> = Result<T, PropertyError>;

crate::passes_through!(PropertyError: sqlx::Error, crate::store::sql::StoreError);

/// The default properties and their types; they cannot be changed or deleted.
pub const DEFAULTS: [(&str, &str); 4] = [
    ("email", "string"),
    ("first_name", "string"),
    ("last_name", "string"),
    ("unsubscribed", "boolean"),
];

pub fn is_default(key: &str) -> bool {
    DEFAULTS.iter().any(|(k, _)| *k == key)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    String,
    Number,
}

impl PropertyType {
    pub fn parse(value: &str) -> PropertyResult<Self> {
        match value {
            "string" => Ok(Self::String),
            "number" => Ok(Self::Number),
            _ => Err(PropertyError::Invalid(
                "The `type` field must be \"string\" or \"number\".".into(),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
        }
    }

    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
        }
    }

    /// Reads a CSV cell as this type (imports): numbers must parse as finite numbers.
    pub fn from_text(self, text: &str) -> Option<Value> {
        match self {
            Self::String => Some(Value::String(text.to_string())),
            Self::Number => {
                let n: f64 = text.trim().parse().ok().filter(|n: &f64| n.is_finite())?;
                // Keep integers integral in the stored JSON.
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    Some(Value::from(n as i64))
                } else {
                    serde_json::Number::from_f64(n).map(Value::Number)
                }
            }
        }
    }
}

/// Letters, digits and underscore, 1 to 50 characters.
pub fn validate_key(key: Option<&str>) -> PropertyResult<&str> {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(PropertyError::Missing("key"));
    };
    if key.chars().count() > MAX_KEY_LEN {
        return Err(PropertyError::Invalid(format!(
            "The `key` field must be at most {MAX_KEY_LEN} characters."
        )));
    }
    if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(PropertyError::Invalid(
            "The `key` field may only contain letters, digits and underscores.".into(),
        ));
    }
    Ok(key)
}

fn check_fallback(ty: PropertyType, fallback: &Value) -> PropertyResult<()> {
    if fallback.is_null() || ty.accepts(fallback) {
        Ok(())
    } else {
        Err(PropertyError::Invalid(format!(
            "The `fallback_value` field must be a {} to match the property's type.",
            ty.as_str()
        )))
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct ContactProperty {
    pub id: String,
    pub key: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    /// JSON text, or `None`.
    pub fallback_value: Option<String>,
    pub created_at: i64,
}

impl ContactProperty {
    pub fn fallback(&self) -> Value {
        self.fallback_value
            .as_deref()
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or(Value::Null)
    }
    pub fn is_default(&self) -> bool {
        is_default(&self.key)
    }
}

const COLUMNS: &str = "id, key, type, fallback_value, created_at";

/// The custom properties of a team, by key: what contact writes are checked against.
#[derive(Debug, Clone, Default)]
pub struct Schema(HashMap<String, PropertyType>);

impl Schema {
    pub fn of(pairs: impl IntoIterator<Item = (String, PropertyType)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    pub async fn load(app: &App, team_id: &str) -> PropertyResult<Schema> {
        let rows: Vec<(String, String)> = on_db!(app.db(), |pool| sqlx::query_as(
            "SELECT key, type FROM contact_properties WHERE team_id = $1"
        )
        .bind(team_id)
        .fetch_all(pool)
        .await)?;
        Ok(Self(
            rows.into_iter()
                .filter(|(key, _)| !is_default(key))
                .filter_map(|(key, ty)| PropertyType::parse(&ty).ok().map(|t| (key, t)))
                .collect(),
        ))
    }

    pub fn get(&self, key: &str) -> Option<PropertyType> {
        self.0.get(key).copied()
    }

    /// A contact's stored values as Resend answers them: `{key: {"type": …, "value": …}}`
    /// (Resend's docs, and the Node, Python and Rust SDKs' types of a retrieved contact).
    pub fn typed(&self, values: Map<String, Value>) -> Map<String, Value> {
        values
            .into_iter()
            .map(|(key, value)| {
                let ty = self.get(&key).map_or_else(
                    || {
                        if value.is_number() {
                            "number"
                        } else {
                            "string"
                        }
                    },
                    PropertyType::as_str,
                );
                (key, serde_json::json!({"type": ty, "value": value}))
            })
            .collect()
    }

    /// Every key must be an existing custom property and every value of its type
    /// (`null` removes a value). The first problem is the error.
    pub fn check(&self, values: &Map<String, Value>) -> PropertyResult<()> {
        for (key, value) in values {
            if is_default(key) {
                return Err(PropertyError::Invalid(format!(
                    "`{key}` is a default property: set it with the contact's `{key}` field, \
                     not in `properties`."
                )));
            }
            let Some(ty) = self.get(key) else {
                return Err(PropertyError::Invalid(format!(
                    "The contact property `{key}` does not exist. Create it first with \
                     POST /contact-properties (keys are case-sensitive)."
                )));
            };
            if !value.is_null() && !ty.accepts(value) {
                return Err(PropertyError::Invalid(format!(
                    "The contact property `{key}` must be a {}.",
                    ty.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// Applies checked `changes` to stored values: `null` removes a key.
pub fn merge(stored: &str, changes: &Map<String, Value>) -> String {
    let mut values: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    for (key, value) in changes {
        if value.is_null() {
            values.remove(key);
        } else {
            values.insert(key.clone(), value.clone());
        }
    }
    Value::Object(values).to_string()
}

/// Creates the default properties of a team the first time they are needed.
async fn ensure_defaults(app: &App, team_id: &str) -> PropertyResult<()> {
    let present: i64 = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM contact_properties WHERE team_id = $1 AND key IN \
         ('email', 'first_name', 'last_name', 'unsubscribed')"
    )
    .bind(team_id)
    .fetch_one(pool)
    .await)?;
    if present == DEFAULTS.len() as i64 {
        return Ok(());
    }
    let now = app.now_ms();
    let stmts: Vec<Stmt> = DEFAULTS
        .iter()
        .enumerate()
        .map(|(i, (key, ty))| {
            Stmt::new(
                "INSERT INTO contact_properties (id, team_id, key, type, fallback_value, \
                 created_at) VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (team_id, key) DO NOTHING",
            )
            .text(new_id())
            .text(team_id)
            .text(*key)
            .text(*ty)
            // Listed last (oldest), in the order above.
            .int(now - 1 - i as i64)
        })
        .collect();
    sql::run(app.db(), &stmts).await?;
    Ok(())
}

/// A property as a request declares it.
pub type NewProperty = crate::fields::Declaration;

pub async fn create(
    app: &App,
    team_id: &str,
    input: NewProperty,
) -> PropertyResult<ContactProperty> {
    let key = validate_key(input.key.as_deref())?.to_string();
    let Some(kind) = input.kind.as_deref().filter(|k| !k.is_empty()) else {
        return Err(PropertyError::Missing("type"));
    };
    let kind = PropertyType::parse(kind)?;
    let fallback = input.fallback_value.unwrap_or(Value::Null);
    check_fallback(kind, &fallback)?;
    if is_default(&key) {
        return Err(PropertyError::Invalid(format!(
            "`{key}` is a default property and already exists."
        )));
    }
    let property = ContactProperty {
        id: new_id(),
        key,
        kind: kind.as_str().to_string(),
        fallback_value: (!fallback.is_null()).then(|| fallback.to_string()),
        created_at: app.now_ms(),
    };
    let inserted = on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO contact_properties (id, team_id, key, type, fallback_value, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (team_id, key) DO NOTHING"
    )
    .bind(&property.id)
    .bind(team_id)
    .bind(&property.key)
    .bind(&property.kind)
    .bind(&property.fallback_value)
    .bind(property.created_at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Err(PropertyError::Invalid(format!(
            "A contact property with the key `{}` already exists.",
            property.key
        )));
    }
    Ok(property)
}

/// The filter of what the API shows: properties of the types Resend's API has (`string`,
/// `number`). The default `unsubscribed` is a boolean, a type no Resend SDK can read in a
/// property (the Rust SDK fails to decode the whole list), so only the dashboard shows it.
const API_TYPES: &str = "type IN ('string', 'number')";

/// One page of the properties the API shows, defaults of an API type included.
pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
) -> PropertyResult<ListResponse<ContactProperty>> {
    list_where(app, team_id, page, API_TYPES).await
}

async fn list_where(
    app: &App,
    team_id: &str,
    page: &Page,
    filter: &str,
) -> PropertyResult<ListResponse<ContactProperty>> {
    ensure_defaults(app, team_id).await?;
    let table = ("contact_properties", COLUMNS);
    Ok(crate::store::team_rows::list_where(app.db(), table, team_id, page, (filter, &[])).await?)
}

/// Every property of the team, defaults included, oldest first (dashboard, import mapping).
pub async fn all(app: &App, team_id: &str) -> PropertyResult<Vec<ContactProperty>> {
    let everything = Page::everything();
    let mut rows = list_where(app, team_id, &everything, "TRUE").await?.data;
    rows.reverse();
    Ok(rows)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> PropertyResult<ContactProperty> {
    ensure_defaults(app, team_id).await?;
    crate::store::team_rows::find(app.db(), ("contact_properties", COLUMNS), team_id, id)
        .await?
        .ok_or(PropertyError::NotFound)
}

/// A property as the API shows it: one of a type the API lacks (see [`list`]) is not found.
pub async fn get_for_api(app: &App, team_id: &str, id: &str) -> PropertyResult<ContactProperty> {
    let property = get(app, team_id, id).await?;
    match PropertyType::parse(&property.kind) {
        Ok(_) => Ok(property),
        Err(_) => Err(PropertyError::NotFound),
    }
}

/// Changes the fallback value (`Some(Null)` clears it). Key and type are fixed.
pub async fn update(
    app: &App,
    team_id: &str,
    id: &str,
    kind: Option<&str>,
    fallback_value: Option<Value>,
) -> PropertyResult<ContactProperty> {
    let mut property = get(app, team_id, id).await?;
    if property.is_default() {
        return Err(PropertyError::Invalid(
            "Default contact properties cannot be changed.".into(),
        ));
    }
    let ty = PropertyType::parse(&property.kind)?;
    if kind.is_some_and(|k| k != property.kind) {
        return Err(PropertyError::Invalid(
            "The `type` of a contact property cannot be changed.".into(),
        ));
    }
    let Some(fallback) = fallback_value else {
        return Ok(property);
    };
    check_fallback(ty, &fallback)?;
    property.fallback_value = (!fallback.is_null()).then(|| fallback.to_string());
    on_db!(app.db(), |pool| sqlx::query(
        "UPDATE contact_properties SET fallback_value = $3 WHERE id = $1 AND team_id = $2"
    )
    .bind(id)
    .bind(team_id)
    .bind(&property.fallback_value)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(property)
}

/// Deletes a property and removes its values from every contact of the team.
pub async fn delete(app: &App, team_id: &str, id: &str) -> PropertyResult<()> {
    let property = get(app, team_id, id).await?;
    if property.is_default() {
        return Err(PropertyError::Invalid(
            "Default contact properties cannot be deleted.".into(),
        ));
    }
    sql::run(
        app.db(),
        &[
            Stmt::new("DELETE FROM contact_properties WHERE id = $1 AND team_id = $2")
                .text(id)
                .text(team_id),
            super::contacts::strip_property(app.db(), team_id, &property.key),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::AppError;

    #[test]
    fn keys() {
        assert!(validate_key(Some("company_name")).is_ok());
        assert!(validate_key(Some("A1_b")).is_ok());
        assert_eq!(
            AppError::from(validate_key(None).unwrap_err()).name,
            "missing_required_field"
        );
        for bad in ["has space", "dash-ed", "dot.ted", "ünï", &"k".repeat(51)] {
            assert_eq!(
                AppError::from(validate_key(Some(bad)).unwrap_err()).name,
                "validation_error",
                "{bad}"
            );
        }
        assert!(validate_key(Some(&"k".repeat(50))).is_ok());
    }

    #[test]
    fn values_from_csv_text() {
        assert_eq!(PropertyType::Number.from_text(" 42 "), Some(json!(42)));
        assert_eq!(PropertyType::Number.from_text("4.5"), Some(json!(4.5)));
        assert_eq!(PropertyType::Number.from_text("forty"), None);
        assert_eq!(PropertyType::Number.from_text("NaN"), None);
        assert_eq!(PropertyType::String.from_text("42"), Some(json!("42")));
    }

    #[test]
    fn merge_sets_and_removes() {
        let changes = json!({"plan": "pro", "age": null});
        let merged = merge(
            r#"{"age": 3, "city": "Oslo"}"#,
            changes.as_object().unwrap(),
        );
        let merged: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(merged, json!({"city": "Oslo", "plan": "pro"}));
    }
}
