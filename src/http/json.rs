//! A JSON body extractor as lenient as the official SDKs need: an empty body counts as `{}`
//! (Node sends none on body-less POSTs), unknown fields are ignored by the DTOs, and bad JSON
//! gets Resend's error body instead of axum's plain-text rejection. It is not lenient about
//! shapes: a struct is read from an object only, never positionally from an array
//! ([`crate::serde_util::strict`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct LenientJson<T>(pub T);

impl<S, T> FromRequest<S> for LenientJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        // A declared length over the limit is refused before anything is read.
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > crate::http::MAX_BODY_BYTES as u64) {
            return Err(crate::http::guard::payload_too_large(
                crate::http::MAX_BODY_BYTES,
            ));
        }
        let tap = req
            .extensions()
            .get::<crate::http::request_log::BodyTap>()
            .cloned();
        if let Some(tap) = &tap {
            // The log will take the whole buffer below: the chunks need not be kept meanwhile.
            tap.reading_whole();
        }
        let bytes = read_body(req, declared).await?;
        if let Some(tap) = tap {
            tap.replace(bytes.clone());
        }
        parse_body(&bytes).map(LenientJson)
    }
}

/// The body in one buffer, sized from its declared length (capped at the limit) when its
/// first chunk arrives, that is once the request has its share of the body budget (the
/// guard's body waits for it before yielding anything, [`crate::http::guard`]): each chunk
/// is copied in as it arrives and freed, so a large body is held once while it is read, not
/// as its chunks plus their concatenation (axum's `Bytes` extractor), nor with the spare
/// capacity of a buffer grown by doubling. The route's body limit
/// (`DefaultBodyLimit`) applies as with axum's extractor.
async fn read_body(req: Request, declared: Option<u64>) -> Result<Bytes, AppError> {
    use axum::RequestExt;
    use futures::StreamExt;

    let capacity = declared.map_or(0, |n| {
        usize::try_from(n).map_or(crate::http::MAX_BODY_BYTES, |n| {
            n.min(crate::http::MAX_BODY_BYTES)
        })
    });
    let mut stream = req.into_limited_body().into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if is_length_limit(&e) {
                crate::http::guard::payload_too_large(crate::http::MAX_BODY_BYTES)
            } else {
                AppError::validation(format!(
                    "Could not read the request body: Failed to buffer the request body: {e}"
                ))
            }
        })?;
        if buffer.capacity() == 0 {
            buffer.reserve_exact(capacity.max(chunk.len()));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

/// Whether reading a body failed on the route's length limit (the limit's error is wrapped
/// in one or two `axum::Error`s, as axum's own extractor unwraps it).
fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The escape of NUL, matched ignoring case; aho-corasick's search is vectorised, where a
/// window-by-window comparison cost 4% of the CPU of a 5 MB send.
static NUL_ESCAPE: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["\\u0000"])
            .expect("a fixed pattern")
    });

pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // JSON's white space only (a form feed is not JSON, and not an empty body).
    let trimmed = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .map_or(&[][..], |start| {
            let end = bytes
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(start, |e| e + 1);
            &bytes[start..end]
        });
    let text: &[u8] = if trimmed.is_empty() { b"{}" } else { trimmed };
    // NUL can only arrive escaped (raw control characters are invalid JSON): look closer
    // only when the escape appears at all.
    if NUL_ESCAPE.is_match(text)
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(text)
        && let Some(field) = nul_field(&value, String::new())
    {
        return Err(AppError::validation(format!(
            "The `{field}` field must not contain NUL characters (\\u0000)."
        )));
    }
    // Structs are read from objects only (`[null, null]` is not a body with two fields).
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    crate::serde_util::strict::deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                AppError::new(
                    400,
                    "validation_error",
                    format!("Invalid JSON in the request body: {e}"),
                )
            } else {
                AppError::validation(format!("Invalid request body: {e}"))
            }
        })
}

/// The path (`to[1]`, `headers.X-Tag`) of the first string, or object key, holding a NUL.
pub fn nul_field(value: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    let named = |at: &str| {
        if at.is_empty() {
            "body".to_string()
        } else {
            at.to_string()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(named(&at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_field(v, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = k.replace('\0', "");
            let path = if at.is_empty() {
                key
            } else {
                format!("{at}.{key}")
            };
            if k.contains('\0') {
                Some(path)
            } else {
                nul_field(v, path)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn nul_is_refused_naming_the_field() {
        let err = parse_body::<Value>(br#"{"to":["a@b.c","x\u0000y"]}"#).unwrap_err();
        assert_eq!((err.status, err.name), (422, "validation_error"));
        assert!(err.message.contains("`to[1]`"), "{}", err.message);
        let err = parse_body::<Value>(br#"{"headers":{"X-A":"\u0000"}}"#).unwrap_err();
        assert!(err.message.contains("`headers.X-A`"), "{}", err.message);
        // An escaped backslash followed by `u0000` is text, not NUL.
        assert_eq!(
            parse_body::<Value>(br#"{"a":"\\u0000"}"#).unwrap(),
            json!({"a": "\\u0000"})
        );
    }
}
