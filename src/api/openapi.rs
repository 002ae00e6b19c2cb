//! `/openapi.json`: the OpenAPI document of the paths Herald serves, built from the handlers'
//! `#[utoipa::path]` declarations. Schema names follow Resend's spec so the two can be
//! compared (tests/api/openapi.rs does).
//!
//! What every operation shares is added here once, by [`describe_common`], rather than in
//! each declaration: the error answers (Resend's `{"statusCode","name","message"}` body,
//! for every status the gate, the request guards, the handlers and the server can answer),
//! the UUID format of path ids, and the bounds of `limit`. schemathesis holds the result
//! against the running server (tests/api/schemathesis.rs).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, SecurityRequirement,
};

pub fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Herald")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Self-hosted email platform speaking Resend's REST API. Authenticate with \
                     `Authorization: Bearer re_…`.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearerAuth",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .security(Some(vec![SecurityRequirement::new(
            "bearerAuth",
            Vec::<String>::new(),
        )]))
        .build()
}

static DOCUMENT: OnceLock<String> = OnceLock::new();

pub fn document() -> &'static str {
    DOCUMENT.get_or_init(|| {
        let (_, spec) = super::routes_and_spec();
        let mut doc = serde_json::to_value(&spec).unwrap_or_default();
        describe_common(&mut doc);
        doc.to_string()
    })
}

pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

/// Path parameters that are not (only) UUIDs: a contact is named by id or email, a
/// suppression by id or address, a template by id or alias.
const NOT_UUID: &[(&str, &str)] = &[
    ("/contacts/", "id"),
    ("/contacts/", "contact_id"),
    ("/suppressions/", "suppression"),
    ("/templates/", "id"),
];

/// Error statuses every operation can answer: a malformed request (400), the API gate
/// (401 missing key, 403 invalid or restricted key), 414/431 from the HTTP server, 422 for
/// a bad parameter (a NUL in the query or path, a malformed id, `limit` out of range), 429
/// from the rate limiter, 500, and 503 while the database cannot be reached.
const ALWAYS: &[u16] = &[400, 401, 403, 414, 422, 429, 431, 500, 503];
/// And those of operations with a request body: it arrives too slowly (408), conflicts with
/// what exists or with an idempotency key (409), is over the size limit (413).
const WITH_BODY: &[u16] = &[408, 409, 413];

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Malformed request (invalid JSON, a malformed request line or header).",
        401 => "Missing API key, or a sending-only key used on another route.",
        403 => "Invalid API key, or not allowed (an unverified domain, a key's domain limit).",
        404 => "The resource does not exist (or belongs to another team).",
        408 => "The request body did not arrive in time.",
        409 => "Conflicts with an existing resource, a state, or an idempotency key.",
        413 => "The request body, or the email it makes, is over its size limit.",
        414 => "The URI is too long.",
        422 => "A field or parameter is invalid; the message names it.",
        429 => "Too many requests: over the key's rate limit.",
        431 => "The request headers are too large.",
        500 => "Unexpected server error.",
        503 => "The database cannot be reached for now; retry later.",
        _ => "Error.",
    }
}

/// Adds what every operation shares (see the module documentation).
pub fn describe_common(doc: &mut Value) {
    let error_schema = json!({
        "type": "object",
        "description": "Resend's error body.",
        "required": ["statusCode", "name", "message"],
        "properties": {
            "statusCode": {"type": "integer", "minimum": 400, "maximum": 599},
            "name": {"type": "string"},
            "message": {"type": "string"},
        },
    });
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("ErrorResponse".into(), error_schema);
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            describe_operation(path, op);
        }
    }
}

fn describe_operation(path: &str, op: &mut Value) {
    let has_body = op.get("requestBody").is_some();
    let mut has_path_params = false;
    for param in op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let name = param["name"].as_str().unwrap_or_default().to_string();
        match param["in"].as_str() {
            Some("path") => {
                has_path_params = true;
                let uuid = !NOT_UUID
                    .iter()
                    .any(|(prefix, p)| path.starts_with(prefix) && *p == name);
                param["schema"] = if uuid {
                    json!({"type": "string", "format": "uuid"})
                } else {
                    json!({"type": "string", "minLength": 1})
                };
            }
            Some("query") if name == "limit" => {
                param["schema"] = json!({"type": "integer", "minimum": 1, "maximum": 100});
            }
            _ => {}
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let not_found = has_path_params || has_body;
    let statuses = ALWAYS
        .iter()
        .chain(if has_body { WITH_BODY } else { &[] })
        .chain(if not_found { &[404][..] } else { &[] });
    for status in statuses {
        responses.entry(status.to_string()).or_insert_with(|| {
            json!({
                "description": error_description(*status),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
            })
        });
    }
}
