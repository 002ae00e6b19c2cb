//! One CSV record into one contact, or the reason it cannot be imported (bad email, wrong
//! property type, bad `unsubscribed` value, invalid UTF-8). Empty cells set nothing.

use csv::ByteRecord;
use serde_json::{Map, Value};

use super::column_map::ResolvedMap;
use crate::audience::email;
use crate::audience::properties::PropertyType;

#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub email: String,
    pub email_lower: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub unsubscribed: Option<bool>,
    pub properties: Map<String, Value>,
}

impl ContactRow {
    /// Folds a later row for the same address into this one: the later value wins.
    pub fn absorb(&mut self, later: ContactRow) {
        self.first_name = later.first_name.or(self.first_name.take());
        self.last_name = later.last_name.or(self.last_name.take());
        self.unsubscribed = later.unsubscribed.or(self.unsubscribed);
        self.properties.extend(later.properties);
    }
}

/// A parsed record with its line in the file (1 is the header).
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub line: u64,
    pub result: Result<ContactRow, String>,
}

/// The typed view of a map, prepared once per import.
pub struct RowReader {
    map: ResolvedMap,
    properties: Vec<(usize, String, PropertyType)>,
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Some(true),
        "false" | "no" | "n" | "0" | "f" => Some(false),
        _ => None,
    }
}

impl RowReader {
    pub fn new(map: ResolvedMap) -> Self {
        let properties = map.property_types();
        Self { map, properties }
    }

    pub fn read(&self, record: &ByteRecord) -> Result<ContactRow, String> {
        // Neither database keeps NUL in text (PostgreSQL refuses it): one rule for both.
        if let Some(column) = record.iter().position(|cell| cell.contains(&0)) {
            return Err(format!(
                "the row contains a NUL character (column {})",
                column + 1
            ));
        }
        let cell = |column: Option<usize>| -> Result<Option<&str>, String> {
            let Some(bytes) = column.and_then(|c| record.get(c)) else {
                return Ok(None);
            };
            let text = std::str::from_utf8(bytes)
                .map_err(|_| "the row is not valid UTF-8".to_string())?
                .trim();
            Ok((!text.is_empty()).then_some(text))
        };
        let Some(raw_email) = cell(Some(self.map.email))? else {
            return Err("the email address is missing".into());
        };
        let email = email::parse(raw_email)
            .map_err(|why| format!("the email address `{raw_email}` {why}"))?;
        let unsubscribed = match cell(self.map.unsubscribed)? {
            None => None,
            Some(text) => Some(
                parse_bool(text)
                    .ok_or_else(|| format!("`unsubscribed` must be true or false, not `{text}`"))?,
            ),
        };
        let mut properties = Map::new();
        for (column, key, ty) in &self.properties {
            let Some(text) = cell(Some(*column))? else {
                continue;
            };
            let value = ty.from_text(text).ok_or_else(|| {
                format!(
                    "the property `{key}` must be a {}, not `{text}`",
                    ty.as_str()
                )
            })?;
            properties.insert(key.clone(), value);
        }
        Ok(ContactRow {
            email_lower: email::lower(&email),
            email,
            first_name: cell(self.map.first_name)?.map(str::to_string),
            last_name: cell(self.map.last_name)?.map(str::to_string),
            unsubscribed,
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::column_map::PropertyColumn;
    use super::*;

    fn reader() -> RowReader {
        RowReader::new(ResolvedMap {
            email: 0,
            first_name: Some(1),
            last_name: None,
            unsubscribed: Some(2),
            properties: vec![PropertyColumn {
                key: "age".into(),
                column: 3,
                kind: "number".into(),
            }],
        })
    }

    fn record(cells: &[&str]) -> ByteRecord {
        ByteRecord::from(cells.to_vec())
    }

    #[test]
    fn good_rows() {
        let row = reader()
            .read(&record(&["Ann@Example.com", "Ann", "yes", "41"]))
            .unwrap();
        assert_eq!(row.email_lower, "ann@example.com");
        assert_eq!(row.first_name.as_deref(), Some("Ann"));
        assert_eq!(row.unsubscribed, Some(true));
        assert_eq!(row.properties["age"], json!(41));
        // Short rows and empty cells set nothing.
        let row = reader().read(&record(&["bo@example.com", ""])).unwrap();
        assert_eq!((row.first_name, row.unsubscribed), (None, None));
        assert!(row.properties.is_empty());
    }

    #[test]
    fn bad_rows() {
        for (cells, why) in [
            (vec![""], "missing"),
            (vec!["not-an-email"], "not a valid email"),
            (vec!["a@example.com", "", "maybe"], "unsubscribed"),
            (vec!["a@example.com", "", "", "old"], "must be a number"),
        ] {
            let err = reader().read(&record(&cells)).unwrap_err();
            assert!(err.contains(why), "{cells:?}: {err}");
        }
        let nul = ByteRecord::from(vec![b"a\0@example.com".to_vec()]);
        assert!(reader().read(&nul).unwrap_err().contains("NUL"));
        let nul = ByteRecord::from(vec![b"a@example.com".to_vec(), b"An\0n".to_vec()]);
        assert!(reader().read(&nul).unwrap_err().contains("column 2"));
        let invalid = ByteRecord::from(vec![b"a@example.com".to_vec(), vec![0xff, 0xfe]]);
        assert!(reader().read(&invalid).unwrap_err().contains("UTF-8"));
    }
}
