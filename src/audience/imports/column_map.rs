//! Which CSV column feeds which contact field. The request's `column_map` names columns by
//! header, as Resend does:
//! `{"email":"Email","first_name":"First Name","unsubscribed":"Unsub",
//!   "properties":{"plan":{"column":"Plan","type":"string"}}}` (a property may also map to a
//! bare column name). Without a map, columns are matched by header name. The result is
//! resolved against the file's header once, at upload, and stored with the import.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ImportError, ImportResult};
use crate::audience::properties::{PropertyType, Schema, is_default};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyColumn {
    pub key: String,
    pub column: usize,
    /// `string` or `number`.
    pub kind: String,
}

/// Column indexes (0-based) for each mapped field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedMap {
    pub email: usize,
    pub first_name: Option<usize>,
    pub last_name: Option<usize>,
    pub unsubscribed: Option<usize>,
    pub properties: Vec<PropertyColumn>,
}

impl ResolvedMap {
    pub fn property_types(&self) -> Vec<(usize, String, PropertyType)> {
        self.properties
            .iter()
            .filter_map(|p| {
                PropertyType::parse(&p.kind)
                    .ok()
                    .map(|t| (p.column, p.key.clone(), t))
            })
            .collect()
    }
}

/// Header names that map to the default fields when no `column_map` is given.
const GUESSES: [(&str, &[&str]); 4] = [
    (
        "email",
        &["email", "e-mail", "email address", "email_address"],
    ),
    ("first_name", &["first_name", "first name", "firstname"]),
    ("last_name", &["last_name", "last name", "lastname"]),
    ("unsubscribed", &["unsubscribed"]),
];

fn normalized(header: &str) -> String {
    header.trim().to_lowercase()
}

fn column_of(header: &[String], name: &str, field: &str) -> ImportResult<usize> {
    header
        .iter()
        .position(|h| h.trim() == name.trim())
        .ok_or_else(|| {
            ImportError::Invalid(format!(
                "The `column_map` maps `{field}` to the column `{name}`, which the CSV header \
                 does not have."
            ))
        })
}

fn guess(header: &[String], field: &str) -> Option<usize> {
    let names = GUESSES.iter().find(|(f, _)| *f == field)?.1;
    header
        .iter()
        .position(|h| names.contains(&normalized(h).as_str()))
}

/// Resolves the request's map (JSON text, or `None` to match by header) against the header.
pub fn resolve(
    header: &[String],
    requested: Option<&str>,
    schema: &Schema,
) -> ImportResult<ResolvedMap> {
    let requested: Option<Value> = match requested.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => Some(serde_json::from_str(text).map_err(|_| {
            ImportError::Invalid("The `column_map` field must be a JSON object.".into())
        })?),
    };
    let Some(map) = requested else {
        return Ok(guessed(header, schema));
    };
    let Some(map) = map.as_object() else {
        return Err(ImportError::Invalid(
            "The `column_map` field must be a JSON object.".into(),
        ));
    };
    let field = |name: &str| -> ImportResult<Option<usize>> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(column)) => column_of(header, column, name).map(Some),
            Some(_) => Err(ImportError::Invalid(format!(
                "The `column_map.{name}` field must be a column name."
            ))),
        }
    };
    let email = field("email")?
        .or_else(|| guess(header, "email"))
        .ok_or_else(|| {
            ImportError::Invalid(
                "The CSV has no email column: map one with `column_map.email`.".into(),
            )
        })?;
    let mut properties = Vec::new();
    match map.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            for (key, spec) in props {
                properties.push(property_column(header, key, spec, schema)?);
            }
        }
        Some(_) => {
            return Err(ImportError::Invalid(
                "The `column_map.properties` field must be an object.".into(),
            ));
        }
    }
    Ok(ResolvedMap {
        email,
        first_name: field("first_name")?,
        last_name: field("last_name")?,
        unsubscribed: field("unsubscribed")?,
        properties,
    })
}

fn property_column(
    header: &[String],
    key: &str,
    spec: &Value,
    schema: &Schema,
) -> ImportResult<PropertyColumn> {
    let (column, kind) = match spec {
        Value::String(column) => (column.as_str(), None),
        Value::Object(o) => (
            o.get("column").and_then(Value::as_str).ok_or_else(|| {
                ImportError::Invalid(format!("`column_map.properties.{key}` needs a `column`."))
            })?,
            o.get("type").and_then(Value::as_str),
        ),
        _ => {
            return Err(ImportError::Invalid(format!(
                "`column_map.properties.{key}` must be a column name or {{\"column\", \"type\"}}."
            )));
        }
    };
    if is_default(key) {
        return Err(ImportError::Invalid(format!(
            "`{key}` is a default property: map it at the top level of `column_map`."
        )));
    }
    let Some(ty) = schema.get(key) else {
        return Err(ImportError::Invalid(format!(
            "The contact property `{key}` does not exist. Create it first with \
             POST /contact-properties (keys are case-sensitive)."
        )));
    };
    if let Some(kind) = kind
        && kind != ty.as_str()
    {
        return Err(ImportError::Invalid(format!(
            "`column_map.properties.{key}` has type `{kind}`, but the property is a {}.",
            ty.as_str()
        )));
    }
    Ok(PropertyColumn {
        key: key.to_string(),
        column: column_of(header, column, &format!("properties.{key}"))?,
        kind: ty.as_str().to_string(),
    })
}

fn guessed(header: &[String], schema: &Schema) -> ResolvedMap {
    let properties = header
        .iter()
        .enumerate()
        .filter_map(|(column, name)| {
            let key = name.trim();
            schema.get(key).map(|ty| PropertyColumn {
                key: key.to_string(),
                column,
                kind: ty.as_str().to_string(),
            })
        })
        .collect();
    ResolvedMap {
        // Checked by the caller: an unmapped email is refused before the import is queued.
        email: guess(header, "email").unwrap_or(usize::MAX),
        first_name: guess(header, "first_name"),
        last_name: guess(header, "last_name"),
        unsubscribed: guess(header, "unsubscribed"),
        properties,
    }
}

/// Refuses a map without an email column (possible only when guessing).
pub fn require_email(map: &ResolvedMap) -> ImportResult<()> {
    if map.email == usize::MAX {
        Err(ImportError::Invalid(
            "The CSV has no email column: name it `email` or map it with `column_map.email`."
                .into(),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn header() -> Vec<String> {
        ["E-Mail", "First Name", "Last", "Plan", "age"]
            .map(String::from)
            .to_vec()
    }

    fn schema() -> Schema {
        Schema::of([
            ("plan".to_string(), PropertyType::String),
            ("age".to_string(), PropertyType::Number),
        ])
    }

    #[test]
    fn guesses_by_header() {
        let map = resolve(&header(), None, &schema()).unwrap();
        assert_eq!(map.email, 0);
        assert_eq!(map.first_name, Some(1));
        assert_eq!(map.last_name, None);
        assert_eq!(map.properties.len(), 1, "{map:?}");
        assert_eq!(map.properties[0].key, "age");
    }

    #[test]
    fn explicit_map() {
        let text = r#"{"email":"E-Mail","last_name":"Last","properties":{"plan":{"column":"Plan","type":"string"},"age":"age"}}"#;
        let map = resolve(&header(), Some(text), &schema()).unwrap();
        assert_eq!((map.email, map.last_name), (0, Some(2)));
        assert_eq!(map.properties.len(), 2);
    }

    #[test]
    fn refusals() {
        for bad in [
            r#"[1]"#,
            r#"{"email":"Nope"}"#,
            r#"{"properties":{"unknown":"Plan"}}"#,
            r#"{"properties":{"age":{"column":"age","type":"string"}}}"#,
            r#"{"properties":{"first_name":"Plan"}}"#,
            "not json",
        ] {
            let err = AppError::from(resolve(&header(), Some(bad), &schema()).unwrap_err());
            assert_eq!(err.name, "validation_error", "{bad}");
        }
        let no_email = vec!["name".to_string()];
        assert!(require_email(&resolve(&no_email, None, &schema()).unwrap()).is_err());
    }
}
