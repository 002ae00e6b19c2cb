//! Small serde helpers for request bodies, and [`strict`], the deserializer that reads
//! structs from JSON objects only. A leaf module: `http::json` reads request bodies through
//! it, and services that read JSON fields themselves (an import's form fields) use it too,
//! without importing the HTTP layer.

pub mod strict;

use serde::{Deserialize, Deserializer};

/// Tells "field absent" (`None`) from "field is null" (`Some(None)`).
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `T` read from a JSON object only. [`crate::serde_util::strict`] refuses arrays where a struct
/// is expected, but a `#[serde(untagged)]` enum buffers its input and reads it again outside
/// that wrapper, where serde would fill a struct positionally from an array; its struct
/// variants hold an `Object<…>` instead.
#[derive(Debug, Clone)]
pub struct Object<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            value @ serde_json::Value::Object(_) => crate::serde_util::strict::deserialize(value)
                .map(Object)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom("expected a JSON object")),
        }
    }
}

/// `{"id": …}`, the object form of a reference (the Node SDK's shape).
#[derive(Debug, Clone, Deserialize)]
pub struct IdObject {
    pub id: String,
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn untagged_struct_variants_refuse_arrays() {
        #[derive(Debug, Deserialize)]
        #[serde(untagged)]
        enum Ref {
            Id(String),
            Object(Object<IdObject>),
        }
        let read = |text: &str| {
            let mut de = serde_json::Deserializer::from_str(text);
            crate::serde_util::strict::deserialize::<Vec<Ref>, _>(&mut de)
        };
        let refs = read(r#"["a", {"id": "b"}]"#).unwrap();
        assert!(matches!(&refs[0], Ref::Id(id) if id == "a"));
        assert!(matches!(&refs[1], Ref::Object(Object(o)) if o.id == "b"));
        assert!(read(r#"[["b"]]"#).is_err());
    }
}
