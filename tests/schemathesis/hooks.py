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
# - Names are unique per team (a contact property's key, a template's alias): a second call
#   with the same one is refused (422 "… already exists"), which no schema can say.
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
    if isinstance(case.query, dict) and "after" in case.query and "before" in case.query:
        del case.query["before"]
    params = case.path_parameters or {}
    if OWN_KEY_ID and op.path.startswith("/api-keys/") and params.get("api_key_id") == OWN_KEY_ID:
        params["api_key_id"] = NO_SUCH_KEY
    if (
        op.method.upper() == "POST"
        and op.path == "/contacts/imports"
        and isinstance(case.body, dict)
        and _positive(case)
    ):
        case.body["file"] = b"email,first_name\nanna@example.com,Anna\n"
        case.body.pop("column_map", None)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    text = getattr(response, "text", "") or ""
    conflict = response.status_code == 422 and "already exists" in text
    return not (getattr(failure, "code", "") == "ST202" and conflict)
