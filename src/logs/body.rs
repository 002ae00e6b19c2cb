//! What a request log keeps of a body: the JSON with every secret replaced by a marker,
//! attachment contents left out, and at most [`MAX_BODY`] bytes. A body that is not JSON
//! (a multipart upload, broken JSON that may hold anything) is kept only as its size.

use serde_json::{Map, Value};

/// Largest body kept, in bytes of its JSON text.
pub const MAX_BODY: usize = 64 * 1024;
/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The stored text (JSON) of a body, or `None` for an empty one.
pub fn sanitize(bytes: &[u8]) -> Option<String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Some(text) = clean_as_is(bytes) {
        return Some(text.to_owned());
    }
    let value = match read_capped(bytes, true) {
        Some(mut value) => {
            redact(&mut value);
            value
        }
        None => Value::String(format!(
            "[body of {} bytes, not JSON: not kept]",
            bytes.len()
        )),
    };
    // Only the first `MAX_BODY` bytes of the text are kept: the rest is counted, not written
    // (a 5 MB batch's text was a second 5–8 MB buffer beside its tree).
    let mut text = Capped::default();
    serde_json::to_writer(&mut text, &value).expect("writing to memory");
    // The length the text would have had without the cuts (they all lie past `MAX_BODY`).
    let total = text.len + cut_bytes(&value);
    let text = text.into_text();
    if total <= MAX_BODY {
        return Some(text);
    }
    Some(truncated(&text, total))
}

/// What is kept of a JSON text of `total` bytes over [`MAX_BODY`]: its first `MAX_BODY`
/// bytes (to a character boundary) and how much that is, as a JSON string.
fn truncated(text: &str, total: usize) -> String {
    let mut cut = MAX_BODY.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let marker = format!(
        "{}… [truncated: {} of {} bytes kept]",
        &text[..cut],
        cut,
        total
    );
    Value::String(marker).to_string()
}

/// A JSON text's first [`MAX_BODY`] bytes (and up to a character more), and its length.
#[derive(Default)]
struct Capped {
    kept: Vec<u8>,
    len: usize,
}

impl Capped {
    /// What is kept, up to its last whole character (serde_json writes UTF-8).
    fn into_text(self) -> String {
        match String::from_utf8(self.kept) {
            Ok(text) => text,
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let mut kept = err.into_bytes();
                kept.truncate(valid);
                String::from_utf8(kept).expect("valid up to here")
            }
        }
    }
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // One character past the limit, so that a cut at `MAX_BODY` sees whole characters.
        let room = (MAX_BODY + 4).saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&buf[..buf.len().min(room)]);
        self.len += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Text that could name or hold a secret, or hide one (`\u` escapes), matched ignoring case:
/// the fragments [`is_secret_key`] and [`is_secret_value`] look for, and `attachments`.
const SUSPECT: [&str; 10] = [
    "token",
    "authorization",
    "api_key",
    "download_url",
    "password",
    "secret",
    "attachments",
    "\"re_",
    "\"whsec_",
    "\\u",
];

/// The body itself, when it is valid JSON small enough to keep and contains nothing
/// [`redact`] would change: no fragment of [`SUSPECT`] occurs in its bytes. Most bodies (an
/// email, a contact, an answer) are kept this way, without building and re-writing a JSON tree.
fn clean_as_is(bytes: &[u8]) -> Option<&str> {
    static SUSPECTS: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(SUSPECT)
                .expect("fixed patterns")
        });
    if bytes.len() > MAX_BODY || SUSPECTS.is_match(bytes) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    Some(text)
}

/// Whether a field of this name holds a secret (tokens, passwords, signing secrets, keys).
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "token"
        || key == "authorization"
        || key == "api_key"
        || key == "download_url"
        || key.ends_with("_token")
        || key.contains("password")
        || key.contains("secret")
}

/// Whether a string looks like an API key token or a webhook signing secret, wherever it is.
fn is_secret_value(value: &str) -> bool {
    let api_key = value.strip_prefix("re_").is_some_and(|rest| {
        rest.len() >= 16 && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    api_key || value.starts_with("whsec_")
}

/// Replaces secrets and attachment contents in place.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => redact_object(map),
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(text) if is_secret_value(text) => *text = REDACTED.to_string(),
        _ => {}
    }
}

fn redact_object(map: &mut Map<String, Value>) {
    for (key, field) in map.iter_mut() {
        if is_secret_key(key) && !field.is_null() {
            *field = Value::String(REDACTED.to_string());
        } else if key == "attachments" {
            if let Value::Array(items) = field {
                items.iter_mut().for_each(omit_content);
            }
            redact(field);
        } else {
            redact(field);
        }
    }
}

/// An attachment's `content` (base64, a byte array or a Buffer object) becomes its size.
fn omit_content(attachment: &mut Value) {
    let Some(content) = attachment.get_mut("content") else {
        return;
    };
    let size = match &*content {
        Value::Null => return,
        Value::String(text) => original_len(text),
        Value::Array(items) => items.len(),
        other => other.to_string().len(),
    };
    *content = Value::String(format!("[attachment content of {size} bytes omitted]"));
}

/// The JSON value of `bytes` read with every string longer than [`MAX_BODY`] cut to its first
/// [`MAX_BODY`] bytes plus [`cut_marker`]: what is kept of a body is at most that long anyway,
/// so a 40 MB email (attachments, html) is read into a tree of a few hundred KB instead of a
/// second copy of itself. Strings without escapes are read in place, not copied. The marker
/// says how many bytes of JSON text the cut removed ([`cut_bytes`]), so the kept text still
/// names the whole body's length. `None` when `bytes` is not JSON.
///
/// With `shorten`, long strings of plain text are cut before serde_json reads them
/// ([`shorten`]): the same value comes out, without serde_json's byte-by-byte walk of a large
/// attachment's base64 (the handler has walked it once already).
fn read_capped(bytes: &[u8], shorten: bool) -> Option<Value> {
    let shortened = if shorten { self::shorten(bytes) } else { None };
    let (text, cuts) = match &shortened {
        Some((text, cuts)) => (text.as_slice(), cuts.as_slice()),
        None => (bytes, &[][..]),
    };
    let seed = CappedSeed {
        base: text.as_ptr() as usize,
        cuts,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let value = serde::de::DeserializeSeed::deserialize(seed, &mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(value)
}

/// What ends a cut string: its length before the cut, and the JSON text bytes cut off.
fn cut_marker(len: usize, removed: usize) -> String {
    format!("…[{len} bytes; {removed} cut]")
}

/// The length of a string before [`read_capped`] cut it.
fn original_len(text: &str) -> usize {
    marker_numbers(text).map_or(text.len(), |(len, _)| len)
}

fn marker_numbers(text: &str) -> Option<(usize, usize)> {
    let (_, rest) = text.strip_suffix(" cut]")?.rsplit_once("…[")?;
    let (len, removed) = rest.split_once(" bytes; ")?;
    Some((len.parse().ok()?, removed.parse().ok()?))
}

/// The JSON text bytes the cuts still present in `value` removed (net of their markers).
fn cut_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => marker_numbers(text).map_or(0, |(_, removed)| {
            let marker = text.rfind("…[").map_or("", |at| &text[at..]);
            removed.saturating_sub(escaped_len(marker))
        }),
        Value::Array(items) => items.iter().map(cut_bytes).sum(),
        Value::Object(map) => map.values().map(cut_bytes).sum(),
        _ => 0,
    }
}

/// The length of `text` once written as a JSON string's content.
/// Counted by bytes (a character other than these takes its UTF-8 length), so the loop
/// vectorises: the cut tail of a 5 MB attachment is 7 MB of base64.
fn escaped_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                b if b < b' ' => 5,
                _ => 0,
            })
            .sum::<usize>()
}

/// `text` read from a JSON string, cut past [`MAX_BODY`]. `unescaped` says the string was
/// read in place from JSON text without escapes: it then holds no character JSON writes
/// escaped (a quote, a backslash or a control character must be escaped in JSON text), so
/// the cut tail's escaped length is its length, and the tail (the bulk of a large
/// attachment's base64) is not walked a second time.
fn capped_string(text: &str, unescaped: bool) -> Value {
    if text.len() <= MAX_BODY {
        return Value::String(text.to_owned());
    }
    let mut cut = MAX_BODY;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let tail = &text[cut..];
    let removed = if unescaped {
        tail.len()
    } else {
        escaped_len(tail)
    };
    let marker = cut_marker(text.len(), removed);
    Value::String(format!("{}{marker}", &text[..cut]))
}

/// A string [`shorten`] cut: where its kept [`MAX_BODY`] bytes start in the shortened text,
/// and its length before the cut.
type Cut = (usize, usize);

/// `bytes` with each string value longer than [`MAX_BODY`] whose JSON text is plain (printable
/// ASCII without quote or backslash, as base64 is) cut to its first [`MAX_BODY`] bytes, and
/// where those cuts are; `None` when nothing is cut, or the text is not JSON enough to say.
/// Such a string is read in place, so [`capped_string`] would keep exactly these bytes and
/// name its length in the same way; the bytes cut off are valid string content, so the
/// shortened text is JSON exactly when `bytes` is. Keys are left whole (they are not cut).
/// Strings are found with a vectorised test of 32 bytes at a time, not byte by byte.
fn shorten(bytes: &[u8]) -> Option<(Vec<u8>, Vec<Cut>)> {
    if bytes.len() <= MAX_BODY {
        return None;
    }
    let mut out = Vec::new();
    let mut cuts = Vec::new();
    // `bytes[..copied]` is in `out`; `at` is outside any string.
    let (mut copied, mut at) = (0, 0);
    while let Some(quote) = memchr::memchr(b'"', &bytes[at..]) {
        let start = at + quote + 1;
        let mut end = start + plain_run(&bytes[start..]);
        let plain = bytes.get(end) == Some(&b'"');
        while bytes.get(end) != Some(&b'"') {
            match bytes.get(end) {
                None => return None,
                Some(b'\\') => end += 2,
                Some(_) => end += 1,
            }
            let rest = bytes.get(end..)?;
            end += memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
        }
        at = end + 1;
        if plain && end - start > MAX_BODY && !is_key(&bytes[at..]) {
            out.extend_from_slice(&bytes[copied..start + MAX_BODY]);
            cuts.push((out.len() - MAX_BODY, end - start));
            copied = end;
        }
    }
    if cuts.is_empty() {
        return None;
    }
    out.extend_from_slice(&bytes[copied..]);
    Some((out, cuts))
}

/// Whether a string ending here is an object's key: `:` follows it.
fn is_key(after: &[u8]) -> bool {
    after
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b':')
}

/// How many bytes `text` starts with that a JSON string holds as they are: printable ASCII
/// other than `"` and `\`. Tested 32 bytes at a time, which the compiler vectorises.
fn plain_run(text: &[u8]) -> usize {
    let plain = |b: u8| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\';
    let mut at = 0;
    for chunk in text.chunks_exact(32) {
        let stops = chunk
            .iter()
            .fold(0u8, |stops, &b| stops | u8::from(!plain(b)));
        if stops != 0 {
            break;
        }
        at += 32;
    }
    at + text[at..]
        .iter()
        .position(|&b| !plain(b))
        .unwrap_or(text.len() - at)
}

/// Reads a value as [`read_capped`] says, knowing the cuts [`shorten`] made in the text read.
#[derive(Clone, Copy)]
struct CappedSeed<'c> {
    base: usize,
    cuts: &'c [Cut],
}

impl<'de> serde::de::DeserializeSeed<'de> for CappedSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for CappedSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(capped_string(v, false))
    }
    /// serde_json hands a string over in place only when its JSON text holds no escape.
    /// A string [`shorten`] cut is its kept bytes: named here by its length before the cut.
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value, E> {
        let offset = (v.as_ptr() as usize).wrapping_sub(self.base);
        match self.cuts.binary_search_by_key(&offset, |&(at, _)| at) {
            Ok(i) if v.len() == MAX_BODY => {
                let len = self.cuts[i].1;
                Ok(Value::String(format!(
                    "{v}{}",
                    cut_marker(len, len - MAX_BODY)
                )))
            }
            _ => Ok(capped_string(v, true)),
        }
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaped_len_is_the_length_serde_json_writes() {
        for text in [
            "",
            "plain",
            "a\"b\\c",
            "\n\r\t\u{8}\u{c}",
            "\u{1}\u{1f}",
            "Zoë ✓ 𝄞",
            "/+=",
        ] {
            let written = Value::String(text.to_string()).to_string();
            assert_eq!(escaped_len(text), written.len() - 2, "{text:?}");
        }
    }

    fn kept(value: Value) -> Value {
        serde_json::from_str(&sanitize(value.to_string().as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn secrets_are_redacted() {
        let body = kept(json!({
            "id": "k1", "token": "re_12345678_abcdefghijklmnopqrstuvwx",
            "password": "hunter2", "new_password": "x", "signing_secret": "whsec_abc",
            "headers": {"Authorization": "Bearer x", "X-Id": "1"},
            "note": "re_12345678_abcdefghijklmnopqrstuvwx", "name": "re_short",
            "data": [{"download_url": "https://h/a?token=1"}],
        }));
        assert_eq!(body["id"], "k1");
        for field in [
            "token",
            "password",
            "new_password",
            "signing_secret",
            "note",
        ] {
            assert_eq!(body[field], REDACTED, "{field}");
        }
        assert_eq!(body["headers"]["Authorization"], REDACTED);
        assert_eq!(body["headers"]["X-Id"], "1");
        assert_eq!(body["name"], "re_short");
        assert_eq!(body["data"][0]["download_url"], REDACTED);
    }

    #[test]
    fn attachment_contents_are_omitted() {
        let body = kept(json!([{ "to": "a@b.c", "attachments": [
            {"filename": "a.txt", "content": "aGVsbG8="},
            {"filename": "b.bin", "content": [1, 2, 3]},
            {"filename": "c.pdf", "path": "https://x/c.pdf"},
        ]}]));
        let attachments = &body[0]["attachments"];
        assert_eq!(
            attachments[0]["content"],
            "[attachment content of 8 bytes omitted]"
        );
        assert_eq!(attachments[0]["filename"], "a.txt");
        assert_eq!(
            attachments[1]["content"],
            "[attachment content of 3 bytes omitted]"
        );
        assert_eq!(attachments[2]["path"], "https://x/c.pdf");
    }

    #[test]
    fn long_strings_are_read_cut_and_attachments_keep_their_size() {
        let content = "QUJD".repeat(MAX_BODY);
        let body = kept(json!({
            "html": "<p>Hi</p>",
            "attachments": [{"filename": "a.bin", "content": content}],
            "token": "re_12345678_abcdefghijklmnopqrstuvwx",
        }));
        assert_eq!(
            body["attachments"][0]["content"],
            format!("[attachment content of {} bytes omitted]", content.len())
        );
        assert_eq!(body["token"], REDACTED);
        // A body over the limit: its first bytes are kept, and it is named by its whole length.
        let big = json!({"html": "é\"\n".repeat(MAX_BODY), "id": "x"}).to_string();
        let stored = sanitize(big.as_bytes()).unwrap();
        let text: String = serde_json::from_str(&stored).unwrap();
        assert!(text.starts_with(&big[..999]), "{}", &text[..100]);
        assert!(
            text.ends_with(&format!(" of {} bytes kept]", big.len())),
            "{}",
            &text[text.len() - 80..]
        );
    }

    #[test]
    fn a_cut_string_is_measured_the_same_with_or_without_escapes() {
        // The same value, sent once with an escape (read into a copy) and once without (read
        // in place, its cut tail not walked): the same text is kept, naming the same length.
        let tail = "a/b+c=\u{e9}".repeat(MAX_BODY);
        let escaped = format!(r#"{{"html":"\u0041{tail}","id":"x"}}"#);
        let plain = format!(r#"{{"html":"A{tail}","id":"x"}}"#);
        let kept = sanitize(plain.as_bytes()).unwrap();
        assert_eq!(sanitize(escaped.as_bytes()).unwrap(), kept);
        assert!(
            kept.ends_with(&format!(" of {} bytes kept]\"", plain.len())),
            "{}",
            &kept[kept.len() - 80..]
        );
    }

    #[test]
    fn shortening_long_plain_strings_first_reads_the_same_value() {
        let long = "QUJD/+9=".repeat(MAX_BODY / 8 + 3);
        let exact = "x".repeat(MAX_BODY);
        let bodies = [
            format!(r#"{{"attachments":[{{"filename":"a","content":"{long}"}}],"id":"x"}}"#),
            format!(r#"[ "{long}" , "{long}", {{"k": "{long}"}} ]"#),
            format!(r#"{{"{long}": 1, "v": "{long}"}}"#),
            format!(r#"{{"{long}"  :  "{long}"}}"#),
            format!(r#"{{"a": "{exact}", "b": "{exact}y", "c": "y{exact}"}}"#),
            format!(r#"{{"a": "\u00e9{long}", "b": "{long}\n", "c": "é{long}é"}}"#),
            format!(r#"{{"a": "{long}\"", "b": "\\{long}"}}"#),
            format!(r#""{long}""#),
            // Not JSON: the same with or without the cut.
            format!("{{\"a\": \"{long}\u{1}\"}}"),
            format!(r#"{{"a": "{long}"}} x"#),
            format!(r#"{{"a": "{long}""#),
            format!(r#"{{"a": "{long}\"#),
            format!(r#"{{"a" "{long}"}}"#),
            format!(r#"{{"a": "{long}": 1}}"#),
            format!(r#"{{"a": x"{long}"}}"#),
        ];
        for body in &bodies {
            assert_eq!(
                read_capped(body.as_bytes(), true),
                read_capped(body.as_bytes(), false),
                "{}",
                &body[..60]
            );
        }
        let mut invalid = bodies[0].clone().into_bytes();
        let at = invalid.len() - 20;
        invalid[at] = 0xff;
        assert_eq!(read_capped(&invalid, true), None);
        // The attachment's base64 is what is cut ahead of serde_json.
        let (text, cuts) = shorten(bodies[0].as_bytes()).unwrap();
        assert_eq!(cuts.len(), 1);
        assert!(text.len() < MAX_BODY + 100);
        assert_eq!(shorten(bodies[2].as_bytes()).unwrap().1.len(), 1);
    }

    /// The text written whole and then cut, as before [`Capped`].
    fn cut_whole_text(value: &Value) -> String {
        let text = value.to_string();
        let total = text.len() + cut_bytes(value);
        if total <= MAX_BODY {
            return text;
        }
        truncated(&text, total)
    }

    #[test]
    fn only_the_kept_text_is_written_and_it_is_the_same() {
        // A batch of medium strings (none cut on their own), with characters of 1 to 4 bytes
        // falling across the limit at every offset, and a secret to redact.
        for shift in 0..8 {
            let html = format!("{}é€😀<p>news</p>", "a".repeat(shift));
            let batch: Vec<Value> = (0..40)
                .map(|i| json!({"to": "a@b.c", "html": html.repeat(200 + i), "api_key": "re_x"}))
                .collect();
            let body = Value::Array(batch).to_string();
            let mut value = read_capped(body.as_bytes(), true).unwrap();
            redact(&mut value);
            assert_eq!(sanitize(body.as_bytes()).unwrap(), cut_whole_text(&value));
        }
        for small in [json!({"a": "é".repeat(100)}), json!(["x", "y", "z"])] {
            let body = small.to_string();
            assert_eq!(sanitize(body.as_bytes()).unwrap(), cut_whole_text(&small));
        }
    }

    #[test]
    fn clean_bodies_are_kept_as_sent() {
        let sent = "{\"to\": [\"a@b.c\"],\n \"html\": \"<p>Hi</p>\", \"tags\": []}";
        assert_eq!(sanitize(sent.as_bytes()).as_deref(), Some(sent));
        // Not JSON, or not UTF-8: never kept as sent.
        assert!(sanitize(b"{\"html\": ").unwrap().contains("not JSON"));
        assert!(sanitize(b"\"\xff\"").unwrap().contains("not JSON"));
    }

    #[test]
    fn secrets_cannot_hide_from_the_quick_path() {
        // A key spelled with escapes, in capitals, or a token as a value.
        for body in [
            r#"{"\u0074oken": "abc"}"#,
            r#"{"TOKEN": "abc"}"#,
            r#"{"x": "re_12345678_abcdefghijklmnopqrstuvwx"}"#,
            r#"{"x": "\u0072e_12345678_abcdefghijklmnopqrstuvwx"}"#,
        ] {
            let stored = sanitize(body.as_bytes()).unwrap();
            assert!(!stored.contains("abc"), "{body} kept as {stored}");
            assert!(stored.contains(REDACTED), "{body} kept as {stored}");
        }
    }

    #[test]
    fn large_and_foreign_bodies() {
        assert_eq!(sanitize(b""), None);
        assert_eq!(sanitize(b"  \n"), None);
        let multipart = sanitize(b"--boundary\r\nsecret stuff").unwrap();
        assert_eq!(
            multipart, "\"[body of 24 bytes, not JSON: not kept]\"",
            "{multipart}"
        );
        let big = json!({"html": "é".repeat(40_000)}).to_string();
        let stored = sanitize(big.as_bytes()).unwrap();
        let text: String = serde_json::from_str(&stored).unwrap();
        assert!(text.ends_with(&format!(" of {} bytes kept]", big.len())));
        assert!(stored.len() < MAX_BODY + 200);
    }
}
