//! The tag-list syntax of RFC 6376 §3.2 (`v=DMARC1; p=reject; pct=100`), shared by the DKIM,
//! DMARC and BIMI records. Lenient where real records are sloppy (spaces, a trailing `;`,
//! upper-case tag names), strict where receivers are (a tag given twice, a part without `=`).

/// Tags in the order they appear; names are lower-cased, values trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList(Vec<(String, String)>);

impl TagList {
    pub fn parse(text: &str) -> Result<TagList, String> {
        let mut tags: Vec<(String, String)> = Vec::new();
        for part in text.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("`{part}` is not a tag=value pair."));
            };
            let name = name.trim().to_ascii_lowercase();
            let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(format!("`{}` is not a valid tag name.", name.trim()));
            }
            if tags.iter().any(|(n, _)| *n == name) {
                return Err(format!("The `{name}=` tag appears more than once."));
            }
            tags.push((name, value.trim().to_string()));
        }
        if tags.is_empty() {
            return Err("The record is empty.".to_string());
        }
        Ok(TagList(tags))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn first(&self) -> (&str, &str) {
        let (n, v) = &self.0[0];
        (n, v)
    }
}

#[cfg(test)]
mod tests {
    use super::TagList;

    #[test]
    fn parses_sloppy_but_valid_lists() {
        let t = TagList::parse(" v=DMARC1 ;P=reject;; pct = 100 ;").unwrap();
        assert_eq!(t.first(), ("v", "DMARC1"));
        assert_eq!(t.get("p"), Some("reject"));
        assert_eq!(t.get("pct"), Some("100"));
        assert_eq!(t.get("rua"), None);
        // Values may contain `=` (base64 padding).
        let t = TagList::parse("p=MIIB+/ab==").unwrap();
        assert_eq!(t.get("p"), Some("MIIB+/ab=="));
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in [
            "",
            " ; ",
            "v=DMARC1; p",
            "v=1; v=2",
            "1x=3",
            "=value",
            "a b=c",
        ] {
            assert!(TagList::parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
