# schemathesis hooks for tests/api/schemathesis.rs (loaded through SCHEMATHESIS_HOOKS).
#
# Only what OpenAPI cannot say is configured here; everything else is in /openapi.json.
#
# - `after` and `before` exclude each other on every list (Resend: "You can only use one of
#   the `after` or `before` parameters"). A parameter cannot name another one, so a call
#   holding both keeps `after` only.
# - The run authenticates with a key of its own, whose id is in HERALD_SCHEMATHESIS_KEY_ID:
#   revoking it, or making it sending-only, would turn every later call into 401/403. A call
#   naming that id (generated or taken from a response) names a key that does not exist
#   instead; every other id, such as those of the keys the run creates, is used as it is.
# - `POST /contacts/imports` takes a CSV file with an `email` column (or a `column_map` naming
#   one): a file's content cannot be described by a schema, so in valid calls the generated
#   file is replaced by a small CSV.
# - `GET /emails/metrics`: the `email` dimension and `email_id` exclude the `broadcast`
#   dimension and `broadcast_id`; a call holding both keeps the email ones.
# - What depends on the data already stored is refused with a 422 no schema can foresee, and
#   is not counted as "a valid request rejected": a name taken (a contact property's key, a
#   template's alias, a contact's address: "… already exists", "Another … already has …"), a
#   field that may only be repeated unchanged (a property's `type`, a topic's
#   `default_subscription`: "… cannot be changed"; a new fallback of the stored property's
#   type), a reference to nothing ("… does not exist"), and a metrics range measured from
#   now ("… choose a shorter range").
# - `POST /emails/batch` with `x-batch-validation: permissive` answers 200 listing the invalid
#   emails in `errors` (Resend's behaviour): an invalid email there is not "accepted".
import os

import schemathesis

OWN_KEY_ID = os.environ.get("HERALD_SCHEMATHESIS_KEY_ID", "")
NO_SUCH_KEY = "00000000-0000-4000-8000-000000000000"


def _positive(case):
    meta = getattr(case, "_meta", None) or getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return str(mode) in ("positive", "GenerationMode.POSITIVE")


@schemathesis.hook
def before_call(context, case, kwargs):
    op = case.operation
    query = case.query if isinstance(case.query, dict) else {}
    if "after" in query and "before" in query:
        del query["before"]
    if op.path == "/emails/metrics":
        dimensions = query.get("dimensions") or []
        if isinstance(dimensions, str):
            dimensions = dimensions.split(",")
        if "email_id" in query or "email" in dimensions:
            query.pop("broadcast_id", None)
            if "broadcast" in dimensions:
                query["dimensions"] = [d for d in dimensions if d != "broadcast"]
    params = case.path_parameters or {}
    if OWN_KEY_ID and op.path.startswith("/api-keys/") and params.get("api_key_id") == OWN_KEY_ID:
        params["api_key_id"] = NO_SUCH_KEY
    if (
        op.method.upper() == "POST"
        and op.path == "/contacts/imports"
        and isinstance(case.body, dict)
        and _positive(case)
    ):
        # Text, not bytes: schemathesis checks a body a hook changed against the schema again,
        # and bytes are not a JSON Schema string.
        case.body["file"] = "email,first_name\nanna@example.com,Anna\n"
        case.body.pop("column_map", None)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    text = getattr(response, "text", "") or ""
    stateful = any(
        phrase in text
        for phrase in (
            "already exists",
            "already has",
            "already been added",
            "cannot be changed",
            "does not exist",
            "to match the property's type",
            "choose a shorter range",
        )
    )
    code = getattr(failure, "code", "")
    if code == "ST202" and response.status_code == 422 and stateful:
        return False
    permissive = (case.headers or {}).get("x-batch-validation") == "permissive"
    return not (code == "ST201" and case.operation.path == "/emails/batch" and permissive)
