//! How an email's html and text are stored: together, zstd-compressed, in a row of
//! `email_bodies` (migration 0152), with the `emails` row's `html` and `text` left NULL.
//! HTML compresses 3–5× (a 5 KB newsletter to about 1.2 KB), and the content is most of
//! what an email stores (docs/performance.md, "Storage per message"). The table is written
//! once and never updated: in a column of `emails`, PostgreSQL would copy the body with each
//! new version of the row (every status change).
//!
//! A content too small to gain, or one that does not shrink, stays in `html` and `text` as
//! before; rows written before 0152 have no `body_zstd` and are read as they are. Readers
//! take the three columns through [`Stored`] and get back exactly what was accepted.
//!
//! The packed form is one zstd frame (with its content size) of: a flags byte (1: html
//! present, 2: text present), the html's length as 4 bytes little-endian when both are
//! present, then the html bytes and the text bytes.

use sqlx::FromRow;

use crate::zstd_frame;

/// Contents smaller than this are stored as they are (a zstd frame costs about a dozen
/// bytes, and a short text gains little).
pub const MIN_PACKED: usize = 256;
/// Larger contents (more than any email accepted holds) are stored as they are, so that
/// [`unpack`] can refuse a damaged frame that claims more.
const MAX_PACKED: usize = super::limits::MAX_MESSAGE_BYTES;
const HTML: u8 = 1;
const TEXT: u8 = 2;

/// The packed, compressed form of `html` and `text`; `None` when they should be stored as
/// they are (small, or no smaller compressed).
pub fn pack(html: Option<&str>, text: Option<&str>) -> Option<Vec<u8>> {
    let len = html.map_or(0, str::len) + text.map_or(0, str::len);
    if !(MIN_PACKED..=MAX_PACKED).contains(&len) {
        return None;
    }
    let mut plain = Vec::with_capacity(len + 5);
    let flags = if html.is_some() { HTML } else { 0 } | if text.is_some() { TEXT } else { 0 };
    plain.push(flags);
    if let (Some(html), Some(_)) = (html, text) {
        plain.extend_from_slice(&(html.len() as u32).to_le_bytes());
    }
    plain.extend_from_slice(html.unwrap_or_default().as_bytes());
    plain.extend_from_slice(text.unwrap_or_default().as_bytes());
    let packed = zstd_frame::compress(&plain)?;
    (packed.len() < len).then_some(packed)
}

/// Why a stored body cannot be read back (a damaged row).
#[derive(Debug, thiserror::Error)]
#[error("the stored email body is damaged: {0}")]
pub struct Damaged(String);

/// The html and text packed by [`pack`].
pub fn unpack(packed: &[u8]) -> Result<(Option<String>, Option<String>), Damaged> {
    let plain = zstd_frame::decompress(packed, MAX_PACKED + 5).map_err(Damaged)?;
    let (&flags, rest) = plain.split_first().ok_or_else(|| Damaged("empty".into()))?;
    let (html_len, rest) = match flags {
        HTML => (rest.len(), rest),
        TEXT => (0, rest),
        0 => (0, rest),
        _ if flags == HTML | TEXT && rest.len() >= 4 => {
            let (len, rest) = rest.split_at(4);
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            (len, rest)
        }
        _ => return Err(Damaged(format!("flags {flags}"))),
    };
    if html_len > rest.len() {
        return Err(Damaged("html length".into()));
    }
    let (html, text) = rest.split_at(html_len);
    let utf8 =
        |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| Damaged("not UTF-8".into()));
    Ok((
        (flags & HTML != 0).then(|| utf8(html)).transpose()?,
        (flags & TEXT != 0).then(|| utf8(text)).transpose()?,
    ))
}

/// The three columns an email's content is stored in (`html, text` of `emails`,
/// `body_zstd` of `email_bodies`), as a reader selects them (a `LEFT JOIN`).
#[derive(Debug, FromRow)]
pub struct Stored {
    pub html: Option<String>,
    pub text: Option<String>,
    pub body_zstd: Option<Vec<u8>>,
}

impl Stored {
    /// The html and text as they were accepted; a damaged body is a decode error, as a
    /// column of the wrong type would be.
    pub fn content(self) -> sqlx::Result<(Option<String>, Option<String>)> {
        match self.body_zstd {
            Some(packed) => unpack(&packed).map_err(|err| sqlx::Error::Decode(Box::new(err))),
            None => Ok((self.html, self.text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(bytes: usize) -> String {
        let p = "<p>Our <strong>newsletter</strong> of the week, with a link and some words.</p>\n";
        p.repeat(bytes / p.len() + 1)
    }

    #[test]
    fn every_combination_reads_back_identical() {
        let h = html(5 * 1024);
        let t = "Ünïcödé text, with émojis 📬 and\r\nlines.\n".repeat(40);
        for (html, text) in [
            (Some(h.as_str()), None),
            (None, Some(t.as_str())),
            (Some(h.as_str()), Some(t.as_str())),
            (Some(""), Some(t.as_str())),
            (Some(h.as_str()), Some("")),
        ] {
            let packed = pack(html, text).expect("packed");
            assert!(packed.len() < h.len() / 2 || html.is_none_or(str::is_empty));
            let (got_html, got_text) = unpack(&packed).expect("unpacked");
            assert_eq!(got_html.as_deref(), html);
            assert_eq!(got_text.as_deref(), text);
        }
    }

    #[test]
    fn small_content_is_stored_as_it_is() {
        assert_eq!(pack(Some("<p>Hi</p>"), Some("Hi")), None);
        assert_eq!(pack(None, None), None);
        let short = "x".repeat(MIN_PACKED - 1);
        assert_eq!(pack(Some(&short), None), None);
        assert!(pack(Some(&format!("{short}x")), None).is_some());
    }

    #[test]
    fn stored_rows_of_either_form_give_the_same_content() {
        let h = html(2000);
        let old = Stored {
            html: Some(h.clone()),
            text: None,
            body_zstd: None,
        };
        let new = Stored {
            html: None,
            text: None,
            body_zstd: pack(Some(&h), None),
        };
        assert_eq!(old.content().unwrap(), new.content().unwrap());
    }

    #[test]
    fn a_damaged_body_is_an_error_not_a_panic() {
        let packed = pack(Some(&html(2000)), Some("text")).unwrap();
        assert!(unpack(&packed[..packed.len() / 2]).is_err());
        assert!(unpack(b"not zstd").is_err());
        assert!(unpack(&[]).is_err());
        // A frame whose content claims more html than there is.
        let bad = zstd::bulk::compress(&[HTML | TEXT, 255, 255, 0, 0, b'a'], 1).unwrap();
        assert!(unpack(&bad).is_err());
    }
}
