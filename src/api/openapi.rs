//! `/openapi.json`: the OpenAPI document of the paths Herald serves, built from the handlers'
//! `#[utoipa::path]` declarations. Schema names follow Resend's spec so the two can be
//! compared (tests/api/openapi.rs does).
//!
//! What every operation shares is added here once, by [`describe_common`], rather than in
//! each declaration: the error answers (Resend's `{"statusCode","name","message"}` body,
//! for every status the gate, the request guards, the handlers and the server can answer),
//! the UUID format of path ids, the bounds of `limit`, and the rules the server applies to
//! every request ([`tighten`]): no NUL in any text (`http::json`, `http::guard`), and a
//! required field that is null or blank counts as missing. schemathesis holds the result
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
        apply_rules(&mut doc);
        tighten(&mut doc);
        doc.to_string()
    })
}

pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

/// Path parameters that are not (only) UUIDs: a contact is named by id or email, a
/// suppression by id or address, a template by id or alias.
const NOT_UUID: &[(&str, &str)] = &[
    ("/contacts/{id}", "id"),
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
        503 => {
            "The database cannot be reached, or the node holds as much request data as it may, for now; retry later."
        }
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
                // Empty (`limit=`) counts as absent: the list's default.
                param["schema"] = json!({"anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 100},
                    {"type": "string", "pattern": "^\\s*$"},
                ]});
            }
            _ => {}
        }
    }
    let id_in_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| p["in"] == "query" && p["name"].as_str().is_some_and(|n| n.ends_with("_id")));
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let not_found = has_path_params || has_body || id_in_query;
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

/// Text without NUL: the server refuses `\u0000` in any JSON string or key, and `%00` in the
/// path or query (422).
const NUL_FREE: &str = "^[^\\u0000]*$";
/// Text with something other than white space (and no NUL): required fields are trimmed,
/// and a blank one is Resend's `missing_required_field`.
const NOT_BLANK: &str = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$";
/// Any JSON value without NUL in its strings or keys: what a free-form object (headers,
/// properties, template variables) and an unknown field may hold.
const FREE_JSON: &str = "NulFreeJson";

/// Writes the request rules every handler shares into the document: request bodies and
/// parameters hold no NUL, and required body fields are neither null nor blank. Only the
/// schemas requests use are changed (responses keep theirs).
pub fn tighten(doc: &mut Value) {
    let free_ref = json!({"$ref": format!("#/components/schemas/{FREE_JSON}")});
    let free = json!({"anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": NUL_FREE},
        {"type": "array", "items": free_ref},
        {"type": "object", "propertyNames": {"pattern": NUL_FREE}, "additionalProperties": free_ref},
    ]});
    let mut requested = std::collections::BTreeSet::new();
    let components = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for op in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
        {
            for param in op
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(schema) = param.get_mut("schema") {
                    tighten_schema(schema, &free_ref);
                }
            }
            optional_empty_body(op, &components);
            for media in op
                .pointer_mut("/requestBody/content")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|c| c.values_mut())
            {
                if let Some(schema) = media.get_mut("schema") {
                    referenced(schema, &mut requested);
                    tighten_schema(schema, &free_ref);
                }
            }
        }
    }
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    // Components used by request bodies, and those they use in turn.
    let mut todo: Vec<String> = requested.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let mut more = std::collections::BTreeSet::new();
        if let Some(schema) = schemas.get(&name) {
            referenced(schema, &mut more);
        }
        for m in more {
            if requested.insert(m.clone()) {
                todo.push(m);
            }
        }
    }
    for name in &requested {
        if let Some(schema) = schemas.get_mut(name) {
            tighten_schema(schema, &free_ref);
        }
    }
    schemas.insert(FREE_JSON.into(), free);
}

/// The component names a schema refers to.
fn referenced(schema: &Value, names: &mut std::collections::BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/components/schemas/") {
                            names.insert(name.to_string());
                        }
                    }
                    _ => referenced(v, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced(v, names)),
        _ => {}
    }
}

fn has_type(schema: &serde_json::Map<String, Value>, ty: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    }
}

/// One request schema (and those inline in it): see [`tighten`].
fn tighten_schema(schema: &mut Value, free_ref: &Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.contains_key("$ref") {
        return;
    }
    if has_type(map, "string") && !constrained(map) {
        map.insert("pattern".into(), NUL_FREE.into());
    }
    if has_type(map, "object") {
        map.entry("propertyNames")
            .or_insert_with(|| json!({"pattern": NUL_FREE}));
        if matches!(
            map.get("additionalProperties"),
            None | Some(Value::Bool(true))
        ) {
            map.insert("additionalProperties".into(), free_ref.clone());
        }
    }
    let required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, prop) in props.iter_mut() {
            if required.contains(name) {
                not_null_nor_blank(prop);
            }
            tighten_schema(prop, free_ref);
        }
    }
    if let Some(items) = map.get_mut("items") {
        tighten_schema(items, free_ref);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for sub in map
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            tighten_schema(sub, free_ref);
        }
    }
}

/// A required field: null and blank text count as missing.
fn not_null_nor_blank(prop: &mut Value) {
    let Some(map) = prop.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            map.insert("type".into(), only);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(subs)) = map.get_mut(key) {
            subs.retain(|s| s.get("type").is_none_or(|t| t != "null"));
        }
    }
    if has_type(map, "string") && !constrained(map) {
        map.insert("pattern".into(), NOT_BLANK.into());
    }
}

/// A string schema that already says what it holds.
fn constrained(map: &serde_json::Map<String, Value>) -> bool {
    ["pattern", "format", "enum", "const"]
        .iter()
        .any(|k| map.contains_key(*k))
}

/// A plain address (`local@domain.tld`), as the server's parser accepts it.
/// (A subset: what the document promises is always accepted; lengths bounded so that the
/// local part stays within 64 characters and the whole within 254.)
const ADDRESS: &str = r"[A-Za-z0-9_%+-]{1,20}(\.[A-Za-z0-9_%+-]{1,20}){0,2}@([A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}";

/// What a field or parameter accepts, where the handler's Rust type says less than its
/// validation (enums kept as strings, ids that are a UUID or an address, list bounds, values
/// that are a string or a number). `schema:Name` replaces a component, `schema:Name.field`
/// replaces a field's schema, `param:/path:name` a parameter's, `body:/path` the inline body
/// schema of that path's operation, `extend:Name` adds keywords to a component. `{address}` stands for [`ADDRESS`].
const RULES: &[(&str, &str)] = &[
    (
        "schema:Recipients",
        r##"{"description": "An address: `a@b.com`, `Name <a@b.com>`, or a list of them.",
            "oneOf": [{"$ref": "#/components/schemas/Mailbox"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/Mailbox"}, "minItems": 1, "maxItems": 50}]}"##,
    ),
    (
        "schema:Mailbox",
        r##"{"type": "string", "pattern": "^({address}|[A-Za-z0-9]{1,20}( [A-Za-z0-9]{1,20}){0,5} <{address}>)$"}"##,
    ),
    (
        "body:/emails/batch",
        r##"{"minItems": 1, "maxItems": 100}"##,
    ),
    (
        "schema:CreateContactPropertyOptions.type",
        r##"{"type": "string", "enum": ["string", "number"]}"##,
    ),
    (
        "schema:CreateContactPropertyOptions.fallback_value",
        r##"{"description": "Used when a contact has no value; a string or a number, as `type`.", "type": ["string", "number", "null"]}"##,
    ),
    (
        "schema:UpdateContactPropertyOptions.fallback_value",
        r##"{"description": "The new fallback (`null` clears it), of the property's type.", "type": ["string", "number", "null"]}"##,
    ),
    (
        "schema:BatchAddSuppressionsRequest.emails",
        r##"{"type": "array", "items": {"type": "string", "pattern": "^{address}$"}, "minItems": 1, "maxItems": 100}"##,
    ),
    (
        "schema:BatchRemoveSuppressionsRequest.emails",
        r##"{"type": "array", "items": {"type": "string", "pattern": "^{address}$"}, "minItems": 1, "maxItems": 100}"##,
    ),
    (
        "schema:BatchRemoveSuppressionsRequest.ids",
        r##"{"type": "array", "items": {"type": "string", "format": "uuid"}, "minItems": 1, "maxItems": 100}"##,
    ),
    (
        "schema:CreateDomainRequest.region",
        r##"{"type": "string", "enum": ["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1"]}"##,
    ),
    (
        "schema:CreateDomainRequest.tls",
        r##"{"type": "string", "enum": ["opportunistic", "enforced"]}"##,
    ),
    (
        "schema:TopicSubscription.subscription",
        r##"{"type": "string", "enum": ["opt_in", "opt_out"]}"##,
    ),
    (
        "schema:SendEmailRequest.from",
        r##"{"$ref": "#/components/schemas/Mailbox"}"##,
    ),
    (
        "schema:CreateBroadcastOptions.from",
        r##"{"$ref": "#/components/schemas/Mailbox"}"##,
    ),
    (
        "schema:UpdateBroadcastOptions.from",
        r##"{"oneOf": [{"$ref": "#/components/schemas/Mailbox"}, {"type": "null"}]}"##,
    ),
    (
        "schema:CreateTemplateRequest.from",
        r##""{optional_mailbox}""##,
    ),
    (
        "schema:UpdateTemplateOptions.from",
        r##""{optional_mailbox}""##,
    ),
    (
        "schema:CreateContactOptions.email",
        r##"{"type": "string", "pattern": "^{address}$"}"##,
    ),
    (
        "schema:UpdateContactOptions.email",
        r##"{"type": ["string", "null"], "pattern": "^{address}$"}"##,
    ),
    (
        "schema:CreateSuppressionRequest.email",
        r##"{"type": "string", "pattern": "^{address}$"}"##,
    ),
    (
        "schema:BatchRemoveSuppressionsRequest",
        r##"{"description": "Either `emails` or `ids`, not both.", "type": "object",
            "properties": {
                "emails": {"type": ["array", "null"], "items": {"type": "string", "pattern": "^{address}$"}, "minItems": 1, "maxItems": 100},
                "ids": {"type": ["array", "null"], "items": {"type": "string", "format": "uuid"}, "minItems": 1, "maxItems": 100}},
            "oneOf": [
                {"required": ["emails"], "properties": {"emails": {"type": "array"}, "ids": {"type": "null"}}},
                {"required": ["ids"], "properties": {"ids": {"type": "array"}, "emails": {"type": "null"}}}]}"##,
    ),
    (
        "schema:TemplateVariableInput.type",
        r##"{"type": "string", "enum": ["string", "number", "boolean", "object", "list"]}"##,
    ),
    (
        "schema:CreateTopicOptions.default_subscription",
        r##"{"type": "string", "enum": ["opt_in", "opt_out"]}"##,
    ),
    (
        "schema:CreateTopicOptions.visibility",
        r##"{"type": ["string", "null"], "enum": ["public", "private", null]}"##,
    ),
    (
        "schema:UpdateTopicOptions.visibility",
        r##"{"type": ["string", "null"], "enum": ["public", "private", null]}"##,
    ),
    (
        "schema:CreateApiKeyRequest.permission",
        r##"{"type": ["string", "null"], "enum": ["full_access", "sending_access", null]}"##,
    ),
    (
        "schema:UpdateApiKeyRequest.permission",
        r##"{"type": ["string", "null"], "enum": ["full_access", "sending_access", null]}"##,
    ),
    (
        "schema:UpdateApiKeyRequest.name",
        r##"{"type": ["string", "null"], "pattern": "{not_blank}"}"##,
    ),
    (
        "schema:UpdateTemplateOptions.name",
        r##"{"type": ["string", "null"], "pattern": "{not_blank}"}"##,
    ),
    (
        "schema:CreateWebhookRequest.endpoint",
        r##"{"type": "string", "pattern": "{url}"}"##,
    ),
    (
        "schema:CreateWebhookRequest.events",
        r##"{"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/WebhookEvent"}}"##,
    ),
    (
        "schema:WebhookEvent",
        r##"{"type": "string", "enum": ["email.sent", "email.delivered", "email.delivery_delayed", "email.bounced", "email.complained", "email.opened", "email.clicked", "email.failed", "email.scheduled", "email.suppressed", "email.received", "contact.created", "contact.updated", "contact.deleted", "domain.created", "domain.updated", "domain.deleted"]}"##,
    ),
    (
        "schema:CreateDomainRequest.name",
        r##"{"type": "string", "pattern": "^([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\\.){1,3}[a-z]{2,10}$"}"##,
    ),
    (
        "schema:RescheduleRequest.scheduled_at",
        r##"{"type": "string", "description": "ISO 8601, or words such as `in 1 hour`; in the future, within 30 days (the document promises the phrases below).", "pattern": "^in ([1-9]|[12][0-9]) (minutes|hours|days)$"}"##,
    ),
    (
        "schema:UpdateContactTopicsOptions.topics",
        r##"{"type": "array", "items": {"type": "object", "required": ["id", "subscription"], "properties": {"id": {"type": "string", "format": "uuid"}, "subscription": {"type": "string", "enum": ["opt_in", "opt_out"]}}}}"##,
    ),
    (
        "param:/contacts:segment_id",
        r##"{"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}]}"##,
    ),
    (
        "schema:SendEmailRequest.topic_id",
        r##"{"type": ["string", "null"], "format": "uuid"}"##,
    ),
    (
        "extend:SendEmailRequest",
        r##"{"anyOf": [
            {"required": ["html"], "properties": {"html": {"type": "string", "pattern": "{not_blank}"}}},
            {"required": ["text"], "properties": {"text": {"type": "string", "pattern": "{not_blank}"}}},
            {"required": ["template"], "properties": {"template": {"type": "object"}}}],
            "not": {"required": ["template"], "properties": {"template": {"type": "object"}},
                    "anyOf": [{"required": ["html"], "properties": {"html": {"type": "string"}}},
                              {"required": ["text"], "properties": {"text": {"type": "string"}}}]}}"##,
    ),
    (
        "schema:CreateDomainRequest.custom_return_path",
        r##"{"type": ["string", "null"], "pattern": "^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$"}"##,
    ),
    (
        "schema:TopicSubscription",
        r##"{"type": "object", "required": ["id", "subscription"], "properties": {"id": {"type": "string", "format": "uuid"}, "subscription": {"type": "string", "enum": ["opt_in", "opt_out"]}}}"##,
    ),
    (
        "schema:CreateContactPropertyOptions",
        r##"{"type": "object", "required": ["key", "type"],
            "properties": {
                "key": {"type": "string", "description": "Letters, digits and underscores, at most 50 characters; case-sensitive.", "pattern": "^[A-Za-z0-9_]{1,50}$"},
                "type": {"type": "string", "enum": ["string", "number"]},
                "fallback_value": {"description": "Used when a contact has no value; of the property's `type`.", "type": ["string", "number", "null"]}},
            "oneOf": [
                {"properties": {"type": {"const": "string"}, "fallback_value": {"type": ["string", "null"]}}},
                {"properties": {"type": {"const": "number"}, "fallback_value": {"type": ["number", "null"]}}}]}"##,
    ),
    (
        "schema:TemplateVariableInput",
        r##"{"type": "object", "required": ["key", "type"],
            "properties": {
                "key": {"type": "string", "description": "ASCII letters, digits and `_`, at most 50 characters.", "pattern": "^[A-Za-z0-9_]{1,50}$"},
                "type": {"type": "string", "enum": ["string", "number", "boolean", "object", "list"]},
                "fallback_value": {"description": "Used when a send gives no value; of the variable's `type`."}},
            "oneOf": [
                {"properties": {"type": {"const": "string"}, "fallback_value": {"type": ["string", "null"]}}},
                {"properties": {"type": {"const": "number"}, "fallback_value": {"type": ["number", "null"]}}},
                {"properties": {"type": {"const": "boolean"}, "fallback_value": {"type": ["boolean", "null"]}}},
                {"required": ["fallback_value"], "properties": {"type": {"const": "object"}, "fallback_value": {"type": "object"}}},
                {"required": ["fallback_value"], "properties": {"type": {"const": "list"}, "fallback_value": {"type": "array"}}}]}"##,
    ),
    (
        "schema:GetContactPropertyResponseSuccess.fallback_value",
        r##"{"description": "A string or a number, as the property's `type`.", "type": ["string", "number", "null"]}"##,
    ),
    (
        "schema:TemplateVariable.fallback_value",
        r##"{"description": "A value of the variable's `type` (string, number, boolean, object or list), or null."}"##,
    ),
    (
        "schema:UpdateTemplateOptions.html",
        r##"{"type": ["string", "null"], "pattern": "{not_blank}"}"##,
    ),
    (
        "schema:UpdateWebhookRequest.endpoint",
        r##"{"type": ["string", "null"], "pattern": "{url}"}"##,
    ),
    (
        "schema:UpdateWebhookRequest.events",
        r##"{"type": ["array", "null"], "minItems": 1, "items": {"$ref": "#/components/schemas/WebhookEvent"}}"##,
    ),
    (
        "param:/emails/metrics:domain_id",
        r##"{"type": "array", "items": {"type": "string", "format": "uuid"}}"##,
    ),
    (
        "param:/emails/metrics:email_id",
        r##"{"type": "array", "items": {"type": "string", "format": "uuid"}}"##,
    ),
    (
        "param:/emails/metrics:broadcast_id",
        r##"{"type": "array", "items": {"type": "string", "format": "uuid"}}"##,
    ),
    (
        "param:/emails/metrics:granularity",
        r##"{"type": "string", "enum": ["hourly", "daily", "weekly", "monthly"]}"##,
    ),
    (
        "param:/emails/metrics:metrics",
        r##"{"type": "array", "items": {"type": "string", "enum": ["received", "delivered", "complained", "suppressed", "bounced", "bounced_transient", "bounced_permanent", "bounced_undetermined", "opened", "clicked", "unsubscribed", "delivery_delayed", "failed", "sent", "unique_opened", "unique_clicked", "delivery_rate", "open_rate", "click_rate", "bounce_rate", "complaint_rate", "unsubscribe_rate"]}}"##,
    ),
    (
        "param:/emails/metrics:start_date",
        r##"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}"##,
    ),
    (
        "param:/emails/metrics:end_date",
        r##"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}"##,
    ),
    (
        "param:/emails/metrics:timezone",
        r##"{"type": "string", "enum": ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]}"##,
    ),
    (
        "schema:SendEmailRequest.scheduled_at",
        r##"{"type": ["string", "null"], "description": "ISO 8601, or words such as `in 1 hour` or `tomorrow at 9am`; within 30 days (the document promises the phrases below); empty: now.", "pattern": "^(in ([1-9]|[12][0-9]) (minutes|hours|days))?$"}"##,
    ),
    (
        "schema:CreateBroadcastOptions.scheduled_at",
        r##"{"type": ["string", "null"], "description": "Only with `send: true`: ISO 8601 or words such as `in 1 hour` (the document promises the phrases below).", "pattern": "^(in ([1-9]|[12][0-9]) (minutes|hours|days))?$"}"##,
    ),
    (
        "extend:CreateBroadcastOptions",
        r##"{"anyOf": [
            {"not": {"required": ["scheduled_at"]}},
            {"properties": {"scheduled_at": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 0}]}}},
            {"required": ["send"], "properties": {"send": {"const": true}}}]}"##,
    ),
    (
        "extend:CreateContactImportOptions",
        r##"{"description": "The multipart form of `POST /contacts/imports`; other fields are refused.", "additionalProperties": false}"##,
    ),
    (
        "schema:CreateContactImportOptions.on_conflict",
        r##"{"description": "`skip` (default) or `upsert`.", "type": "string", "enum": ["skip", "upsert", ""]}"##,
    ),
    (
        "schema:SendEmailRequest.headers",
        r##"{"type": ["object", "null"], "description": "Extra headers by name (names are printable ASCII without spaces or `:`, and not one Herald sets itself; the document promises `X-` names).", "propertyNames": {"pattern": "^X-[A-Za-z0-9-]{1,30}$"}, "additionalProperties": {"type": "string", "pattern": "^[ -~]{0,200}$"}}"##,
    ),
    (
        "schema:CreateTemplateRequest.reply_to",
        r##""{optional_mailboxes}""##,
    ),
    (
        "schema:UpdateTemplateOptions.reply_to",
        r##""{optional_mailboxes}""##,
    ),
    (
        "schema:CreateBroadcastOptions.reply_to",
        r##""{optional_mailboxes}""##,
    ),
    (
        "schema:UpdateBroadcastOptions.reply_to",
        r##""{optional_mailboxes}""##,
    ),
    (
        "schema:UpdateTopicOptions.name",
        r##"{"type": ["string", "null"], "pattern": "{not_blank}"}"##,
    ),
    (
        "schema:CreateApiKeyRequest.domain_id",
        r##"{"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}, {"type": "null"}], "description": "Restricts a `sending_access` key to one domain."}"##,
    ),
    (
        "extend:CreateApiKeyRequest",
        r##"{"anyOf": [
            {"not": {"required": ["domain_id"]}},
            {"properties": {"domain_id": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 0}]}}},
            {"required": ["permission"], "properties": {"permission": {"const": "sending_access"}}}]}"##,
    ),
    (
        "schema:CreateContactOptions.segments",
        r##"{"type": ["array", "null"], "description": "Segment ids (or `{\"id\"}` objects) to add the contact to.", "items": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}}]}}"##,
    ),
    (
        "schema:Tag",
        r##"{"type": "object", "required": ["name", "value"], "properties": {"name": {"type": "string", "description": "ASCII letters, digits, `_` and `-`; at most 256 characters.", "pattern": "^[A-Za-z0-9_-]{1,256}$"}, "value": {"type": "string", "description": "The same characters as `name`.", "pattern": "^[A-Za-z0-9_-]{1,256}$"}}}"##,
    ),
    (
        "schema:CreateTemplateRequest.alias",
        r##"{"type": ["string", "null"], "description": "Unique per team; letters, digits, `-`, `_`, `.`; up to 100.", "pattern": "^[A-Za-z0-9._-]{0,100}$"}"##,
    ),
    (
        "schema:UpdateTemplateOptions.alias",
        r##"{"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{0,100}$"}"##,
    ),
    (
        "schema:Attachment.content",
        r##"{"description": "Base64, or an array of byte values (Node's `{\"type\":\"Buffer\",\"data\":[…]}` too); the document promises the first two.", "anyOf": [{"type": "string", "pattern": "^([A-Za-z0-9+/]{4})+$"}, {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0, "maximum": 255}}, {"type": "null"}]}"##,
    ),
    (
        "extend:Attachment",
        r##"{"anyOf": [{"required": ["content"], "properties": {"content": {"not": {"type": "null"}}, "path": {"type": "null"}}},
                       {"required": ["path"], "properties": {"path": {"type": "string", "description": "An http(s) URL.", "pattern": "{url}"}, "content": {"type": "null"}}}]}"##,
    ),
    (
        "schema:Attachment.filename",
        r##"{"type": ["string", "null"], "description": "At most 255 characters, without control or text-direction characters; not an executable type (`.exe`, …).", "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]{0,255}$"}"##,
    ),
    (
        "schema:CreateContactImportOptions.segments",
        r##"{"type": "string", "description": "JSON array of segments to add the contacts to: `[{\"id\": \"…\"}]` or ids (empty: none).", "pattern": "{segments_json}"}"##,
    ),
    (
        "schema:CreateContactImportOptions.topics",
        r##"{"type": "string", "description": "JSON array of topic choices: `[{\"id\": \"…\", \"subscription\": \"opt_in\"}]` (empty: none).", "pattern": "{topics_json}"}"##,
    ),
    (
        "schema:Attachment.content_id",
        r##"{"type": ["string", "null"], "description": "Marks an inline image referenced as `cid:<content_id>`; under 128 characters, no spaces, control characters, `<` or `>` (the document promises printable ASCII).", "pattern": "^[!-;=?-~]{1,127}$"}"##,
    ),
    (
        "schema:Attachment.content_type",
        r##"{"type": ["string", "null"], "description": "A media type such as `application/pdf`.", "pattern": "^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$"}"##,
    ),
    (
        "schema:SendEmailRequest.subject",
        r##"{"type": "string", "description": "One line.", "pattern": "^[^\\u0000\\r\\n]*[^\\s\\u0000][^\\u0000\\r\\n]*$"}"##,
    ),
    (
        "param:/contacts/imports:status",
        r##"{"type": "string", "enum": ["queued", "in_progress", "completed", "failed"]}"##,
    ),
    (
        "param:/suppressions:origin",
        r##"{"type": "string", "enum": ["bounce", "complaint", "manual"]}"##,
    ),
    (
        "param:/emails:Idempotency-Key",
        r##"{"type": "string", "minLength": 1, "maxLength": 256}"##,
    ),
    (
        "param:/emails/batch:Idempotency-Key",
        r##"{"type": "string", "minLength": 1, "maxLength": 256}"##,
    ),
    (
        "param:/emails/batch:x-batch-validation",
        r##"{"type": "string", "enum": ["strict", "permissive"]}"##,
    ),
    (
        "param:/emails/metrics:dimensions",
        r##"{"type": "array", "items": {"type": "string", "enum": ["period", "domain", "email", "broadcast"]}}"##,
    ),
];

/// A webhook endpoint (a subset of the http and https URLs the server accepts), as JSON
/// string content.
const URL: &str = r"^https?://([a-z0-9]{1,20}\\.){0,3}[a-z]{2,10}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]{0,20}){0,4}$";

/// A UUID, in the JSON text of a form field.
const UUID: &str = "[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}";
/// The import form's `segments`: empty, or a JSON array of ids or `{"id"}` objects (with
/// JSON's white space only).
const SEGMENTS_JSON: &str =
    r#"^[ \t\n\r]*(\[[ \t\n\r]*({item}([ \t\n\r]*,[ \t\n\r]*{item})*)?[ \t\n\r]*\])?[ \t\n\r]*$"#;
const SEGMENT_ITEM: &str =
    r#"("{uuid}"|\{[ \t\n\r]*"id"[ \t\n\r]*:[ \t\n\r]*"{uuid}"[ \t\n\r]*\})"#;
/// The import form's `topics`: empty, or a JSON array of `{"id", "subscription"}` objects
/// (the document promises that order of keys; the server reads either).
const TOPICS_JSON: &str =
    r#"^[ \t\n\r]*(\[[ \t\n\r]*({item}([ \t\n\r]*,[ \t\n\r]*{item})*)?[ \t\n\r]*\])?[ \t\n\r]*$"#;
const TOPIC_ITEM: &str = r#"\{[ \t\n\r]*"id"[ \t\n\r]*:[ \t\n\r]*"{uuid}"[ \t\n\r]*,[ \t\n\r]*"subscription"[ \t\n\r]*:[ \t\n\r]*"(opt_in|opt_out)"[ \t\n\r]*\}"#;

/// `text` as the content of a JSON string (quotes and backslashes escaped).
fn json_text(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("a string");
    quoted[1..quoted.len() - 1].to_string()
}

/// A contact, or a suppression, named by its id or its address.
const ID_OR_ADDRESS: &str = r##"{"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "pattern": "^{address}$"}]}"##;

fn rule_value(json: &str) -> Value {
    // `{address}` goes in as JSON string content: its backslashes escaped.
    let address = ADDRESS.replace('\\', "\\\\");
    let not_blank = NOT_BLANK.replace('\\', "\\\\");
    let json = json
        .replace("{address}", &address)
        .replace("{not_blank}", &not_blank)
        .replace("{url}", URL)
        .replace(
            "{segments_json}",
            &json_text(&SEGMENTS_JSON.replace("{item}", &SEGMENT_ITEM.replace("{uuid}", UUID))),
        )
        .replace(
            "{topics_json}",
            &json_text(&TOPICS_JSON.replace("{item}", &TOPIC_ITEM.replace("{uuid}", UUID))),
        )
        .replace(
            "\"{optional_mailboxes}\"",
            r##"{"anyOf": [{"$ref": "#/components/schemas/Mailbox"}, {"type": "array", "items": {"$ref": "#/components/schemas/Mailbox"}}, {"type": "null"}, {"type": "string", "maxLength": 0}]}"##,
        )
        .replace(
            "\"{optional_mailbox}\"",
            r##"{"anyOf": [{"$ref": "#/components/schemas/Mailbox"}, {"type": "null"}, {"type": "string", "maxLength": 0}]}"##,
        );
    serde_json::from_str(&json).expect("a valid rule")
}

/// Writes [`RULES`] (and the id-or-address path parameters) into the document.
pub fn apply_rules(doc: &mut Value) {
    for (target, json) in RULES {
        let value = rule_value(json);
        if let Some(schema) = target.strip_prefix("schema:") {
            let slot = match schema.split_once('.') {
                Some((name, field)) => doc
                    .pointer_mut(&format!("/components/schemas/{name}/properties"))
                    .and_then(Value::as_object_mut)
                    .and_then(|props| props.get_mut(field)),
                None => doc
                    .pointer_mut("/components/schemas")
                    .and_then(Value::as_object_mut)
                    .map(|schemas| schemas.entry(schema).or_insert(Value::Null)),
            };
            if let Some(slot) = slot {
                *slot = value;
            }
        } else if let Some(name) = target.strip_prefix("extend:") {
            if let Some(schema) = doc
                .pointer_mut(&format!("/components/schemas/{name}"))
                .and_then(Value::as_object_mut)
                && let Value::Object(extra) = &value
            {
                schema.extend(extra.clone());
            }
        } else if let Some(path) = target.strip_prefix("body:") {
            for media in operations(doc, path)
                .filter_map(|op| op.pointer_mut("/requestBody/content"))
                .filter_map(Value::as_object_mut)
                .flat_map(|c| c.values_mut())
            {
                if let Some(schema) = media.get_mut("schema").and_then(Value::as_object_mut)
                    && let Value::Object(extra) = &value
                {
                    schema.extend(extra.clone());
                }
            }
        } else if let Some((path, name)) = target
            .strip_prefix("param:")
            .and_then(|t| t.rsplit_once(':'))
        {
            set_param(doc, path, name, &value);
        }
    }
    let id_or_address = rule_value(ID_OR_ADDRESS);
    for (prefix, name) in [
        ("/contacts/{id}", "id"),
        ("/contacts/{contact_id}", "contact_id"),
        ("/suppressions/{suppression}", "suppression"),
    ] {
        let paths: Vec<String> = doc
            .get("paths")
            .and_then(Value::as_object)
            .map(|p| {
                p.keys()
                    .filter(|k| k.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for path in paths {
            set_param(doc, &path, name, &id_or_address);
        }
    }
}

fn operations<'a>(doc: &'a mut Value, path: &str) -> impl Iterator<Item = &'a mut Value> {
    doc.get_mut("paths")
        .and_then(|p| p.get_mut(path))
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|item| item.values_mut())
}

fn set_param(doc: &mut Value, path: &str, name: &str, schema: &Value) {
    for param in operations(doc, path)
        .filter_map(|op| op.get_mut("parameters"))
        .filter_map(Value::as_array_mut)
        .flatten()
        .filter(|p| p["name"] == name)
    {
        param["schema"] = schema.clone();
    }
}

/// An empty JSON body counts as `{}` (`http::json`): where the body has no required field,
/// it may be left out.
fn optional_empty_body(op: &mut Value, components: &Value) {
    let Some(body) = op.get_mut("requestBody") else {
        return;
    };
    let Some(mut schema) = body.pointer("/content/application~1json/schema") else {
        return;
    };
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        schema = &components[name];
    }
    let object = schema.as_object().is_some_and(|map| {
        has_type(map, "object")
            && !["required", "oneOf", "anyOf"]
                .iter()
                .any(|k| map.contains_key(*k))
    });
    if object {
        body["required"] = false.into();
    }
}
