//! A template's declared variables: key, type and optional fallback value. Declarations are
//! checked when a template is written; values are checked when an email is sent with it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{TemplateError, TemplateResult};
use super::substitute::{self, Values};
use crate::store::new_id;

pub const MAX_VARIABLES: usize = 50;
pub const MAX_KEY_CHARS: usize = 50;

/// Names a template may not declare. Resend reserves the contact variables and two words of
/// its editor; `RESEND_UNSUBSCRIBE_URL` is the broadcasts' unsubscribe link. Templates may
/// still use these placeholders: broadcasts fill them from the contact.
pub const RESERVED: &[&str] = &[
    "FIRST_NAME",
    "LAST_NAME",
    "EMAIL",
    "UNSUBSCRIBE_URL",
    "RESEND_UNSUBSCRIBE_URL",
    "contact",
    "this",
];

pub fn is_reserved(key: &str) -> bool {
    RESERVED.contains(&key)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Boolean,
    Object,
    List,
}

impl VarType {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "string" => Self::String,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "list" => Self::List,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::List => "list",
        }
    }

    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Boolean => value.is_boolean(),
            Self::Object => value.is_object(),
            Self::List => value.is_array(),
        }
    }

    /// "a string", "an object"…
    fn described(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Number => "a number",
            Self::Boolean => "a boolean",
            Self::Object => "an object",
            Self::List => "a list (JSON array)",
        }
    }
}

/// A declared variable, as stored (JSON) and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub id: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub fallback_value: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Variable {
    pub fn var_type(&self) -> VarType {
        VarType::parse(&self.kind).unwrap_or(VarType::String)
    }
}

/// A declaration as a request gives it.
pub type VariableInput = crate::fields::Declaration;

/// Checks `inputs` and makes them the new declarations; a key declared before keeps its id
/// and creation time.
pub fn declare(
    inputs: &[VariableInput],
    previous: &[Variable],
    now: i64,
) -> TemplateResult<Vec<Variable>> {
    if inputs.len() > MAX_VARIABLES {
        return Err(TemplateError::Invalid(format!(
            "A template can declare at most {MAX_VARIABLES} variables; this one has {}.",
            inputs.len()
        )));
    }
    let mut declared: Vec<Variable> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let key = input.key.as_deref().map(str::trim).unwrap_or("");
        if key.is_empty() {
            return Err(TemplateError::Missing("variables[].key"));
        }
        if key.chars().count() > MAX_KEY_CHARS || !substitute::is_valid_key(key) {
            return Err(TemplateError::Invalid(format!(
                "Invalid variable key `{key}`: keys use only ASCII letters, digits and \
                 underscores, at most {MAX_KEY_CHARS} characters."
            )));
        }
        if is_reserved(key) {
            return Err(TemplateError::Invalid(format!(
                "`{key}` is a reserved variable name; reserved names are {}.",
                RESERVED.join(", ")
            )));
        }
        if declared.iter().any(|v| v.key == key) {
            return Err(TemplateError::Invalid(format!(
                "The variable `{key}` is declared twice."
            )));
        }
        let Some(kind) = input.kind.as_deref().filter(|k| !k.is_empty()) else {
            return Err(TemplateError::Missing("variables[].type"));
        };
        let Some(ty) = VarType::parse(kind) else {
            return Err(TemplateError::Invalid(format!(
                "The type of the variable `{key}` must be one of string, number, boolean, \
                 object or list, not `{kind}`."
            )));
        };
        let fallback = input.fallback_value.clone().filter(|v| !v.is_null());
        match &fallback {
            Some(value) if !ty.accepts(value) => {
                return Err(TemplateError::Invalid(format!(
                    "The `fallback_value` of the variable `{key}` must be {} to match its type.",
                    ty.described()
                )));
            }
            None if matches!(ty, VarType::Object | VarType::List) => {
                return Err(TemplateError::Invalid(format!(
                    "The variable `{key}` is of type {}, which needs a `fallback_value`.",
                    ty.as_str()
                )));
            }
            _ => {}
        }
        let mut variable = Variable {
            id: new_id(),
            key: key.to_string(),
            kind: ty.as_str().to_string(),
            fallback_value: fallback,
            created_at: now,
            updated_at: now,
        };
        if let Some(before) = previous.iter().find(|v| v.key == key) {
            variable.id = before.id.clone();
            variable.created_at = before.created_at;
            if before.kind == variable.kind && before.fallback_value == variable.fallback_value {
                variable.updated_at = before.updated_at;
            }
        }
        declared.push(variable);
    }
    Ok(declared)
}

/// Every placeholder in `sources` must name a declared (or reserved) variable.
pub fn check_used<'a>(
    declared: &[Variable],
    sources: impl IntoIterator<Item = &'a str>,
) -> TemplateResult<()> {
    for source in sources {
        for placeholder in substitute::placeholders(source) {
            let key = placeholder.key;
            if !is_reserved(key) && !declared.iter().any(|v| v.key == key) {
                return Err(TemplateError::Invalid(format!(
                    "The variable `{key}` is used in the template but not declared in \
                     `variables`."
                )));
            }
        }
    }
    Ok(())
}

/// The values of one send, checked against the template's declarations.
pub struct SendValues<'a> {
    declared: &'a [Variable],
    given: Cow<'a, Map<String, Value>>,
}

impl<'a> SendValues<'a> {
    /// Every given key must be declared (or reserved, which takes a string or number) and
    /// its value of the declared type.
    pub fn check(
        template_name: &str,
        declared: &'a [Variable],
        given: Map<String, Value>,
    ) -> TemplateResult<Self> {
        for (key, value) in &given {
            match declared.iter().find(|v| &v.key == key) {
                Some(variable) => {
                    let ty = variable.var_type();
                    if !value.is_null() && !ty.accepts(value) {
                        return Err(TemplateError::Invalid(format!(
                            "The template variable `{key}` must be {} (it is declared as {}).",
                            ty.described(),
                            ty.as_str()
                        )));
                    }
                }
                None if is_reserved(key) => {
                    if !(value.is_null() || value.is_string() || value.is_number()) {
                        return Err(TemplateError::Invalid(format!(
                            "The template variable `{key}` must be a string or a number."
                        )));
                    }
                }
                None => {
                    let known: Vec<&str> = declared.iter().map(|v| v.key.as_str()).collect();
                    let known = if known.is_empty() {
                        "it declares none".to_string()
                    } else {
                        format!("it declares {}", known.join(", "))
                    };
                    return Err(TemplateError::Invalid(format!(
                        "The template `{template_name}` has no variable `{key}` ({known}; keys \
                         are case-sensitive)."
                    )));
                }
            }
        }
        Ok(Self {
            declared,
            given: Cow::Owned(given),
        })
    }

    /// The values as given, unchecked: enough to measure what they render.
    pub fn unchecked(declared: &'a [Variable], given: &'a Map<String, Value>) -> Self {
        Self {
            declared,
            given: Cow::Borrowed(given),
        }
    }
}

impl Values for SendValues<'_> {
    fn value(&self, key: &str) -> Option<Cow<'_, str>> {
        self.given
            .get(key)
            .filter(|v| !v.is_null())
            .map(substitute::display)
    }

    fn fallback(&self, key: &str) -> Option<Cow<'_, str>> {
        self.declared
            .iter()
            .find(|v| v.key == key)
            .and_then(|v| v.fallback_value.as_ref())
            .map(substitute::display)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(key: &str, kind: &str, fallback: Value) -> VariableInput {
        VariableInput {
            key: Some(key.into()),
            kind: Some(kind.into()),
            fallback_value: Some(fallback),
        }
    }

    #[test]
    fn declarations_are_checked() {
        let bad = [
            input("", "string", Value::Null),
            input("has space", "string", Value::Null),
            input(&"K".repeat(51), "string", Value::Null),
            input("FIRST_NAME", "string", Value::Null),
            input("contact", "string", Value::Null),
            input("A", "date", Value::Null),
            input("A", "number", json!("5")),
            input("A", "string", json!(5)),
            input("A", "boolean", json!("true")),
            input("A", "object", Value::Null),
            input("A", "list", json!({})),
        ];
        for case in bad {
            assert!(
                declare(std::slice::from_ref(&case), &[], 0).is_err(),
                "{case:?}"
            );
        }
        let twice = [
            input("A", "string", Value::Null),
            input("A", "number", Value::Null),
        ];
        assert!(declare(&twice, &[], 0).is_err());
        let good = [
            input("A", "string", json!("x")),
            input("B", "number", json!(2.5)),
            input("C", "boolean", json!(false)),
            input("D", "object", json!({"k": 1})),
            input("E", "list", json!([1, 2])),
            input("first_name", "string", Value::Null),
        ];
        let declared = declare(&good, &[], 7).unwrap();
        assert_eq!(declared.len(), 6);
        // Redeclaring keeps the id.
        let again = declare(&good[..1], &declared, 9).unwrap();
        assert_eq!(again[0].id, declared[0].id);
        assert_eq!(again[0].updated_at, 7);
    }

    #[test]
    fn send_values_are_checked() {
        let declared = declare(
            &[
                input("NAME", "string", Value::Null),
                input("N", "number", json!(1)),
            ],
            &[],
            0,
        )
        .unwrap();
        let ok = |v: Value| SendValues::check("t", &declared, v.as_object().unwrap().clone());
        assert!(ok(json!({"NAME": "Ann", "N": 3, "FIRST_NAME": "Ann"})).is_ok());
        assert!(ok(json!({"NAME": 5})).is_err());
        assert!(ok(json!({"N": "3"})).is_err());
        assert!(ok(json!({"name": "Ann"})).is_err());
        assert!(ok(json!({"EMAIL": {"a": 1}})).is_err());
        assert!(check_used(&declared, ["{{{NAME}}} {{{EMAIL}}}"]).is_ok());
        assert!(check_used(&declared, ["{{{OTHER|x}}}"]).is_err());
    }
}
