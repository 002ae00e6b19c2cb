"""Runs the official Resend Python SDK (PyPI `resend`, pinned in requirements.txt) against a
live Herald and checks what comes back, including the exception classes the SDK raises.

Started by `cargo test --test api compat` (tests/api/compat.rs) with
PYTHONPATH=tests/compat/python/.deps and:
  RESEND_API_URL, RESEND_API_KEY   the Herald under test and a full-access key (read at import)
  HERALD_COMPAT_LIMITED_URL/_KEY   optional: a second Herald whose rate limit is 1 request/s
  HERALD_COMPAT_SKIP_EMAILS=1      optional: leave out the emails API checks
Each check prints `ok - ...` or `not ok - ...`; the last line is
`python-sdk: N passed, N failed`, and the exit code is 1 when anything failed.
"""

import datetime
import http.server
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request

if not os.environ.get("RESEND_API_URL") or not os.environ.get("RESEND_API_KEY"):
    sys.exit("Set RESEND_API_URL and RESEND_API_KEY (tests/api/compat.rs does).")

# The SDK reads RESEND_API_URL and RESEND_API_KEY when it is imported.
import resend  # noqa: E402
from resend import exceptions  # noqa: E402
from logs import logs_checks  # noqa: E402

BASE_URL = resend.api_url
KEY = resend.api_key
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RESOURCE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?\+00$")
UNKNOWN_ID = "0190a5b4-0000-7000-8000-000000000000"

# --------------------------------------------------------------------------------------------
# A tiny runner: every check runs, failures are reported, the summary decides the exit code.

results = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - every failure is reported the same way
        results["failed"] += 1
        print(f"not ok - {name}")
        detail = "".join(traceback.format_exception_only(type(err), err)).rstrip()
        if isinstance(err, exceptions.ResendError):
            detail += f" (code={err.code!r}, error_type={err.error_type!r})"
        for line in detail.splitlines()[:20]:
            print(f"  # {line}")
    else:
        results["passed"] += 1
        print(f"ok - {name}")


def expect_error(call, exception_class, code, names):
    """Calls `call`, which must raise exactly `exception_class` with this status and name."""
    allowed = names if isinstance(names, (list, tuple)) else [names]
    try:
        result = call()
    except exceptions.ResendError as err:
        if type(err) is not exception_class:
            raise AssertionError(
                f"raised {type(err).__name__}, wanted {exception_class.__name__}: "
                f"code={err.code!r} error_type={err.error_type!r} message={err.message!r}"
            ) from None
        assert int(err.code) == code, f"code {err.code!r}, wanted {code}"
        assert err.error_type in allowed, f"error_type {err.error_type!r}, wanted {allowed}"
        assert isinstance(err.message, str) and err.message
        return err
    raise AssertionError(f"no exception; got {result!r}")


def with_key(key, call):
    """Runs `call` with another API key (the SDK keeps the key in a module global)."""
    saved = resend.api_key
    resend.api_key = key
    try:
        return call()
    finally:
        resend.api_key = saved


def with_server(url, key, call):
    saved = resend.api_url, resend.api_key
    resend.api_url, resend.api_key = url, key
    try:
        return call()
    finally:
        resend.api_url, resend.api_key = saved


def header(reply, name):
    """The SDK injects the response headers into dict replies as `http_headers`."""
    headers = {k.lower(): v for k, v in reply["http_headers"].items()}
    return headers.get(name)


def reachable(link):
    """Links Herald builds start with its public URL. Under the test harness Herald listens on
    port 0 without a public URL, so links say `:0`; only then point them at the server under test.
    """
    url = urllib.parse.urlsplit(link)
    if url.port != 0:
        return link
    return f"{BASE_URL}{url.path}?{url.query}"


# --------------------------------------------------------------------------------------------
# API keys: POST/GET/PATCH/DELETE /api-keys.


def api_keys_checks():
    state = {}

    def create_full():
        key = resend.ApiKeys.create({"name": "compat python full"})
        assert UUID.match(key["id"]), key
        assert re.match(r"^re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$", key["token"]), key
        state["key"] = key

    check("api-keys: create a full-access key (id + re_ token)", create_full)

    check(
        "api-keys: the new token authenticates",
        lambda: with_key(state["key"]["token"], resend.ApiKeys.list),
    )

    check(
        "api-keys: sending key with unknown domain_id -> ResendError 404 not_found",
        lambda: expect_error(
            lambda: resend.ApiKeys.create(
                {"name": "s", "permission": "sending_access", "domain_id": UNKNOWN_ID}
            ),
            exceptions.ResendError,
            404,
            "not_found",
        ),
    )

    check(
        "api-keys: missing name -> MissingRequiredFieldsError (422)",
        lambda: expect_error(
            lambda: resend.ApiKeys.create({}),
            exceptions.MissingRequiredFieldsError,
            422,
            "missing_required_field",
        ),
    )

    check(
        "api-keys: name over 50 characters -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.ApiKeys.create({"name": "x" * 51}),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )

    check(
        "api-keys: unknown permission -> ResendError 422 invalid_access",
        lambda: expect_error(
            lambda: resend.ApiKeys.create({"name": "bad", "permission": "root"}),
            exceptions.ResendError,
            422,
            "invalid_access",
        ),
    )

    def list_keys():
        listed = resend.ApiKeys.list()
        assert listed["object"] == "list", listed
        assert isinstance(listed["has_more"], bool)
        found = [k for k in listed["data"] if k["id"] == state["key"]["id"]]
        assert len(found) == 1, listed
        assert found[0]["name"] == "compat python full"
        assert RESOURCE_TIME.match(found[0]["created_at"]), found[0]
        assert "token" not in found[0]

    check("api-keys: list shows the key with Resend fields", list_keys)

    def list_paged():
        page = resend.ApiKeys.list({"limit": 1})
        assert len(page["data"]) == 1 and page["has_more"] is True, page
        nxt = resend.ApiKeys.list({"limit": 1, "after": page["data"][0]["id"]})
        assert len(nxt["data"]) == 1 and nxt["data"][0]["id"] != page["data"][0]["id"]

    check("api-keys: list with limit 1 pages (has_more)", list_paged)

    def update():
        key_id = state["key"]["id"]
        updated = resend.ApiKeys.update({"id": key_id, "name": "compat python renamed"})
        assert updated["object"] == "api_key" and updated["id"] == key_id, updated
        names = {k["id"]: k["name"] for k in resend.ApiKeys.list()["data"]}
        assert names[key_id] == "compat python renamed", names

    check("api-keys: update renames", update)

    def remove():
        key_id = state["key"]["id"]
        removed = resend.ApiKeys.remove(key_id)
        assert removed["object"] == "api_key" and removed["id"] == key_id, removed
        assert removed["deleted"] is True
        expect_error(
            lambda: with_key(state["key"]["token"], resend.ApiKeys.list),
            exceptions.InvalidApiKeyError,
            403,
            "invalid_api_key",
        )

    check("api-keys: remove -> deleted, and the token stops working", remove)

    check(
        "api-keys: remove unknown -> ResendError 404 not_found",
        lambda: expect_error(
            lambda: resend.ApiKeys.remove(UNKNOWN_ID), exceptions.ResendError, 404, "not_found"
        ),
    )


# --------------------------------------------------------------------------------------------
# Authentication and rate limiting.


def auth_checks():
    check(
        "auth: empty key -> MissingApiKeyError (401)",
        lambda: expect_error(
            lambda: with_key("", resend.ApiKeys.list),
            exceptions.MissingApiKeyError,
            401,
            "missing_api_key",
        ),
    )

    check(
        "auth: unknown key -> InvalidApiKeyError (403)",
        lambda: expect_error(
            lambda: with_key("re_12345678_abcdefghijklmnopqrstuvwx", resend.ApiKeys.list),
            exceptions.InvalidApiKeyError,
            403,
            "invalid_api_key",
        ),
    )

    check(
        "auth: no key configured (SDK sends `Bearer None`) -> InvalidApiKeyError (403)",
        lambda: expect_error(
            lambda: with_key(None, resend.ApiKeys.list),
            exceptions.InvalidApiKeyError,
            403,
            "invalid_api_key",
        ),
    )

    def restricted():
        sender = resend.ApiKeys.create(
            {"name": "compat python sender", "permission": "sending_access"}
        )
        # 401 restricted_api_key has no class of its own in the SDK: plain ResendError.
        expect_error(
            lambda: with_key(sender["token"], resend.ApiKeys.list),
            exceptions.ResendError,
            401,
            "restricted_api_key",
        )

    check("auth: sending key on a full-access route -> ResendError 401 restricted_api_key", restricted)

    def headers():
        reply = resend.ApiKeys.list()
        for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"):
            assert header(reply, name) is not None, f"missing header {name}"
        assert "application/json" in header(reply, "content-type")

    check("rate limit: ratelimit-* headers reach the SDK (http_headers)", headers)

    limited_url = os.environ.get("HERALD_COMPAT_LIMITED_URL")
    limited_key = os.environ.get("HERALD_COMPAT_LIMITED_KEY")
    if limited_url and limited_key:

        def over_limit():
            # The limit is 1 request per second: a burst of requests meets it.
            def burst():
                for _ in range(20):
                    resend.ApiKeys.list()
                return "no request was refused"

            err = expect_error(
                lambda: with_server(limited_url, limited_key, burst),
                exceptions.RateLimitError,
                429,
                "rate_limit_exceeded",
            )
            headers = {k.lower(): v for k, v in err.headers.items()}
            assert headers.get("retry-after"), headers

        check("rate limit: over the limit -> RateLimitError (429) with retry-after", over_limit)


# --------------------------------------------------------------------------------------------
# Emails: POST /emails, /emails/batch, GET /emails[/{id}], PATCH, cancel, attachments.
# Written against the contract (issue 2, resend.yaml, reference notes).

MAIL = {
    "from": "Acme <onboarding@example.com>",
    "to": ["delivered@resend.dev"],
    "subject": "Hello from the Python SDK",
    "html": "<p>Hello <strong>there</strong></p>",
    "tags": [{"name": "category", "value": "compat_test"}],
}


def in_hours(hours):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def emails_send_checks():
    state = {}

    def send():
        sent = resend.Emails.send(MAIL)
        assert UUID.match(sent["id"]), sent
        state["id"] = sent["id"]

    check("emails: send to delivered@resend.dev from any domain", send)

    def get():
        email = resend.Emails.get(state["id"])
        assert email["object"] == "email" and email["id"] == state["id"], email
        assert email["to"] == ["delivered@resend.dev"]
        assert email["from"] == MAIL["from"]
        assert email["subject"] == MAIL["subject"]
        assert isinstance(email["text"], str) and "Hello" in email["text"], email
        assert RESOURCE_TIME.match(email["created_at"]), email
        assert email["scheduled_at"] is None
        assert isinstance(email["last_event"], str)

    check("emails: get returns the email with Resend fields", get)

    def list_paged():
        resend.Emails.send({**MAIL, "subject": "second"})
        page = resend.Emails.list({"limit": 1})
        assert page["object"] == "list" and len(page["data"]) == 1, page
        assert page["has_more"] is True
        assert page["data"][0]["subject"] == "second", "newest first"

    check("emails: list with limit pages newest first", list_paged)

    check(
        "emails: get unknown id -> ResendError 404 not_found",
        lambda: expect_error(
            lambda: resend.Emails.get(UNKNOWN_ID), exceptions.ResendError, 404, "not_found"
        ),
    )


def emails_idempotency_checks():
    def same():
        a = resend.Emails.send(MAIL, {"idempotency_key": "compat-python/1"})
        b = resend.Emails.send(MAIL, {"idempotency_key": "compat-python/1"})
        assert a["id"] == b["id"], (a, b)

    check("emails: same idempotency_key and payload -> same id", same)

    check(
        "emails: same key, different payload -> ResendError 409 invalid_idempotent_request",
        lambda: expect_error(
            lambda: resend.Emails.send(
                {**MAIL, "subject": "other"}, {"idempotency_key": "compat-python/1"}
            ),
            exceptions.ResendError,
            409,
            "invalid_idempotent_request",
        ),
    )


def emails_schedule_checks():
    state = {}

    def schedule():
        sent = resend.Emails.send({**MAIL, "scheduled_at": "in 1 hour"})
        state["id"] = sent["id"]
        email = resend.Emails.get(sent["id"])
        assert email["last_event"] == "scheduled", email
        assert isinstance(email["scheduled_at"], str)

    check('emails: scheduled_at "in 1 hour" is accepted and shown', schedule)

    def reschedule():
        # The SDK also puts `id` in the body; the server ignores it.
        updated = resend.Emails.update({"id": state["id"], "scheduled_at": in_hours(2)})
        assert updated["object"] == "email" and updated["id"] == state["id"], updated

    check("emails: update reschedules", reschedule)

    def cancel():
        canceled = resend.Emails.cancel(state["id"])  # POST body "{}"
        assert canceled["object"] == "email" and canceled["id"] == state["id"], canceled
        assert resend.Emails.get(state["id"])["last_event"] == "canceled"

    check("emails: cancel -> canceled", cancel)

    check(
        "emails: scheduled_at more than 30 days ahead -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.Emails.send({**MAIL, "scheduled_at": in_hours(40 * 24)}),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )


def emails_batch_checks():
    def strict():
        reply = resend.Batch.send([MAIL, {**MAIL, "to": ["bounced@resend.dev"]}])
        assert len(reply["data"]) == 2, reply
        assert all(UUID.match(item["id"]) for item in reply["data"])

    check("batch: strict sends every email", strict)

    def permissive():
        reply = resend.Batch.send(
            [MAIL, {**MAIL, "to": ["not-an-address"]}], {"batch_validation": "permissive"}
        )
        assert len(reply["data"]) == 1, reply
        assert reply["errors"][0]["index"] == 1, reply
        assert isinstance(reply["errors"][0]["message"], str)

    check("batch: permissive returns data and errors", permissive)

    check(
        "batch: strict with an invalid email -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.Batch.send([MAIL, {**MAIL, "to": ["not-an-address"]}]),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )


def emails_attachment_checks():
    state = {}

    def send():
        sent = resend.Emails.send(
            {
                **MAIL,
                "attachments": [
                    {"filename": "ints.txt", "content": list(b"hello")},  # array of bytes
                    {"filename": "base64.txt", "content": "aGVsbG8="},
                    {"filename": "logo.png", "content": "aGVsbG8=", "inline_content_id": "logo"},
                ],
            }
        )
        state["id"] = sent["id"]

    check("attachments: int-array and base64 content are accepted", send)

    def list_and_get():
        listed = resend.Emails.Attachments.list(state["id"])
        assert listed["object"] == "list", listed
        by_name = {a["filename"]: a for a in listed["data"]}
        assert sorted(by_name) == ["base64.txt", "ints.txt", "logo.png"], by_name
        assert all(a["size"] == 5 for a in listed["data"]), listed
        assert by_name["logo.png"]["content_disposition"] == "inline"
        one = resend.Emails.Attachments.get(state["id"], by_name["ints.txt"]["id"])
        assert one["object"] == "attachment" and one["filename"] == "ints.txt", one
        with urllib.request.urlopen(reachable(one["download_url"])) as download:
            assert download.read() == b"hello"

    check("attachments: list and get (download_url serves the bytes)", list_and_get)

    check(
        "attachments: neither content nor path -> ResendError 422 invalid_attachment",
        lambda: expect_error(
            lambda: resend.Emails.send({**MAIL, "attachments": [{"filename": "empty.txt"}]}),
            exceptions.ResendError,
            422,
            "invalid_attachment",
        ),
    )


def emails_validation_checks():
    without_to = {k: v for k, v in MAIL.items() if k != "to"}

    def missing_to():
        try:
            resend.Emails.send(without_to)
        except (exceptions.MissingRequiredFieldsError, exceptions.ValidationError) as err:
            assert int(err.code) == 422, err.code
        else:
            raise AssertionError("no exception")

    check("validation: missing `to` -> MissingRequiredFieldsError or ValidationError (422)", missing_to)

    check(
        "validation: malformed `to` -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.Emails.send({**MAIL, "to": ["not-an-address"]}),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )


def emails_checks():
    emails_send_checks()
    emails_idempotency_checks()
    emails_schedule_checks()
    emails_batch_checks()
    emails_attachment_checks()
    emails_validation_checks()


# --------------------------------------------------------------------------------------------
# Webhooks: POST/GET/PATCH/DELETE /webhooks, and deliveries verified by `Webhooks.verify`.


class Receiver:
    """A local webhook endpoint recording the raw body and headers of what it receives."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server naming
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n, mentioning):
        """Waits (a guard against hangs, not a timing check) until `n` deliveries whose body
        mentions `mentioning` came in (earlier emails' events may arrive too); returns them."""
        deadline = time.monotonic() + 30
        while True:
            found = [(h, b) for h, b in list(self.received) if mentioning in b]
            if len(found) >= n:
                return found
            assert time.monotonic() < deadline, f"got {len(found)} deliveries, wanted {n}"
            time.sleep(0.05)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def webhooks_checks(deliveries):
    receiver = Receiver()
    state = {}

    def create():
        hook = resend.Webhooks.create(
            {"endpoint": receiver.url, "events": ["email.sent", "email.delivered"]}
        )
        assert hook["object"] == "webhook", hook
        assert UUID.match(hook["id"]), hook
        assert re.match(r"^whsec_[A-Za-z0-9+/=]{32,}$", hook["signing_secret"]), hook
        state["hook"] = hook

    check("webhooks: create (id + whsec_ signing secret)", create)

    def get():
        hook = state["hook"]
        got = resend.Webhooks.get(hook["id"])
        assert got["endpoint"] == receiver.url, got
        assert got["events"] == ["email.sent", "email.delivered"], got
        assert got["status"] == "enabled", got
        assert RESOURCE_TIME.match(got["created_at"]), got
        assert got["signing_secret"] == hook["signing_secret"], got

    check("webhooks: get shows endpoint, events, status and the secret", get)

    def listed():
        page = resend.Webhooks.list()
        found = [w for w in page["data"] if w["id"] == state["hook"]["id"]]
        assert len(found) == 1, page
        assert "signing_secret" not in found[0], found

    check("webhooks: list shows it without the secret", listed)

    def update():
        hook_id = state["hook"]["id"]
        updated = resend.Webhooks.update({"webhook_id": hook_id, "status": "disabled"})
        assert updated["id"] == hook_id and updated["object"] == "webhook", updated
        assert resend.Webhooks.get(hook_id)["status"] == "disabled"
        resend.Webhooks.update({"webhook_id": hook_id, "status": "enabled"})

    check("webhooks: update (webhook_id in the body) disables and enables again", update)

    check(
        "webhooks: unknown event type -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.Webhooks.create({"endpoint": receiver.url, "events": ["email.nope"]}),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )

    check(
        "webhooks: get unknown -> ResendError 404 not_found",
        lambda: expect_error(
            lambda: resend.Webhooks.get(UNKNOWN_ID), exceptions.ResendError, 404, "not_found"
        ),
    )

    def verified_deliveries():
        secret = state["hook"]["signing_secret"]
        sent = resend.Emails.send({**MAIL, "subject": "webhook check"})
        types = []
        for headers, body in receiver.wait_for(2, sent["id"]):
            options = {
                "payload": body,
                "headers": {
                    "id": headers["svix-id"],
                    "timestamp": headers["svix-timestamp"],
                    "signature": headers["svix-signature"],
                },
                "webhook_secret": secret,
            }
            event = resend.Webhooks.verify(options)
            assert event["data"]["email_id"] == sent["id"], event
            assert event["data"]["to"] == ["delivered@resend.dev"], event
            assert json.loads(body)["data"]["tags"] == {"category": "compat_test"}, body
            types.append(event["type"])
            tampered = {**options, "payload": body.replace("webhook check", "tampered")}
            try:
                resend.Webhooks.verify(tampered)
            except ValueError:
                pass
            else:
                raise AssertionError("a tampered payload verified")
        assert sorted(types) == ["email.delivered", "email.sent"], types

    if deliveries:
        check("webhooks: deliveries pass resend.Webhooks.verify", verified_deliveries)

    def remove():
        hook_id = state["hook"]["id"]
        removed = resend.Webhooks.remove(hook_id)
        assert removed["deleted"] is True and removed["id"] == hook_id, removed

    check("webhooks: remove -> deleted", remove)
    receiver.close()



# --------------------------------------------------------------------------------------------
# Domains: POST/GET/PATCH/DELETE /domains, verify, and the domain.* webhooks.


def find_record(domain, group, rtype):
    found = [r for r in domain["records"] if r["record"] == group and r["type"] == rtype]
    assert len(found) == 1, f"no {group} {rtype} record in {domain['records']}"
    return found[0]


def domains_checks():
    state = {}

    def create():
        # The parameters Domains.CreateParams declares (no tls or capabilities in this SDK).
        domain = resend.Domains.create(
            {
                "name": "updates.python-compat.example",
                "region": "sa-east-1",
                "custom_return_path": "bounces",
                "open_tracking": True,
                "click_tracking": False,
                "tracking_subdomain": "links",
            }
        )
        assert UUID.match(domain["id"]), domain
        assert domain["name"] == "updates.python-compat.example", domain
        assert domain["status"] == "not_started", domain
        assert domain["region"] == "sa-east-1", domain
        assert RESOURCE_TIME.match(domain["created_at"]), domain
        assert domain["open_tracking"] is True and domain["click_tracking"] is False, domain
        assert domain["tracking_subdomain"] == "links", domain
        kinds = [f"{r['record']} {r['type']}" for r in domain["records"]]
        assert kinds == ["SPF MX", "SPF TXT", "DKIM TXT", "Tracking CNAME", "TrackingCAA CAA"], kinds
        for r in domain["records"]:
            assert r["status"] == "not_started" and r["ttl"] == "Auto", r
        mx = find_record(domain, "SPF", "MX")
        assert mx["name"] == "bounces.updates" and isinstance(mx["priority"], int), mx
        assert find_record(domain, "DKIM", "TXT")["value"].startswith("v=DKIM1; k=rsa; p=")
        assert re.match(r'^0 issue ".+"$', find_record(domain, "TrackingCAA", "CAA")["value"])
        state["domain"] = domain

    check("domains: create with region, custom_return_path and tracking", create)

    def get():
        domain = state["domain"]
        got = resend.Domains.get(domain["id"])
        assert got["object"] == "domain" and got["id"] == domain["id"], got
        assert got["status"] == "not_started" and got["region"] == "sa-east-1", got
        assert got["records"] == domain["records"], got
        assert got["capabilities"] == {"sending": "enabled", "receiving": "disabled"}, got

    check("domains: get returns the domain with per-record statuses", get)

    def listed():
        second = resend.Domains.create({"name": "second.python-compat.example"})
        assert second["region"] == "us-east-1", second
        page = resend.Domains.list()
        assert page["object"] == "list" and isinstance(page["has_more"], bool), page
        found = [d for d in page["data"] if d["id"] == state["domain"]["id"]]
        assert len(found) == 1 and found[0]["region"] == "sa-east-1", page
        one = resend.Domains.list({"limit": 1})
        assert len(one["data"]) == 1 and one["has_more"] is True, one
        assert one["data"][0]["id"] == second["id"], "newest first"
        nxt = resend.Domains.list({"limit": 1, "after": second["id"]})
        assert nxt["data"][0]["id"] == state["domain"]["id"], nxt
        resend.Domains.remove(second["id"])

    check("domains: list shows it, and pages with limit", listed)

    def update():
        domain_id = state["domain"]["id"]
        # The SDK also puts `id` in the body; the server ignores it.
        updated = resend.Domains.update(
            {
                "id": domain_id,
                "open_tracking": False,
                "click_tracking": True,
                "tls": "enforced",
                "tracking_subdomain": "track",
            }
        )
        assert updated["object"] == "domain" and updated["id"] == domain_id, updated
        got = resend.Domains.get(domain_id)
        assert got["open_tracking"] is False and got["click_tracking"] is True, got
        assert got["tracking_subdomain"] == "track", got
        assert find_record(got, "Tracking", "CNAME")["name"] == "track.updates"

    check("domains: update tracking flags, tls and tracking subdomain", update)

    def verify():
        domain_id = state["domain"]["id"]
        verified = resend.Domains.verify(domain_id)  # POST body "{}"
        assert verified["object"] == "domain" and verified["id"] == domain_id, verified
        got = resend.Domains.get(domain_id)
        # The test server's resolver reaches no DNS: the records are not found yet.
        assert got["status"] == "pending", got
        assert all(r["status"] == "pending" for r in got["records"]), got["records"]

    check("domains: verify -> pending while DNS is checked", verify)

    check(
        "domains: invalid region -> ResendError 422 invalid_region",
        lambda: expect_error(
            lambda: resend.Domains.create({"name": "x.python-compat.example", "region": "mars-1"}),
            exceptions.ResendError,
            422,
            "invalid_region",
        ),
    )

    def bad_return_paths():
        for path, why in [
            ("1send", "start with a letter"),
            ("send-", "end with a letter or a number"),
            ("se.nd", "letters, numbers and hyphens"),
            ("s" * 64, "63 characters"),
        ]:
            err = expect_error(
                lambda: resend.Domains.create(
                    {"name": "rp.python-compat.example", "custom_return_path": path}
                ),
                exceptions.ValidationError,
                422,
                "validation_error",
            )
            assert why in err.message, (path, err.message)

    check("domains: bad custom_return_path -> ValidationError (422), each rule", bad_return_paths)

    check(
        "domains: missing name -> MissingRequiredFieldsError (422)",
        lambda: expect_error(
            lambda: resend.Domains.create({}),
            exceptions.MissingRequiredFieldsError,
            422,
            "missing_required_field",
        ),
    )

    check(
        "domains: changing the region -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.Domains.update({"id": state["domain"]["id"], "region": "eu-west-1"}),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )

    def restricted():
        sender = resend.ApiKeys.create(
            {"name": "compat python domain sender", "permission": "sending_access"}
        )
        for call in (
            resend.Domains.list,
            lambda: resend.Domains.get(state["domain"]["id"]),
            lambda: resend.Domains.create({"name": "nope.python-compat.example"}),
        ):
            expect_error(
                lambda: with_key(sender["token"], call),
                exceptions.ResendError,
                401,
                "restricted_api_key",
            )

    check("domains: sending key -> ResendError 401 restricted_api_key", restricted)

    def remove():
        domain_id = state["domain"]["id"]
        removed = resend.Domains.remove(domain_id)
        assert removed["object"] == "domain" and removed["id"] == domain_id, removed
        assert removed["deleted"] is True, removed
        for call in (resend.Domains.get, resend.Domains.verify, resend.Domains.remove):
            expect_error(lambda: call(domain_id), exceptions.ResendError, 404, "not_found")

    check("domains: remove -> deleted; get, verify, remove again -> ResendError 404", remove)

    def domain_webhooks():
        receiver = Receiver()
        try:
            hook = resend.Webhooks.create(
                {"endpoint": receiver.url, "events": ["domain.created", "domain.deleted"]}
            )
            domain = resend.Domains.create({"name": "hooks.python-compat.example"})
            resend.Domains.remove(domain["id"])
            types = []
            for headers, body in receiver.wait_for(2, domain["id"]):
                event = resend.Webhooks.verify(
                    {
                        "payload": body,
                        "headers": {
                            "id": headers["svix-id"],
                            "timestamp": headers["svix-timestamp"],
                            "signature": headers["svix-signature"],
                        },
                        "webhook_secret": hook["signing_secret"],
                    }
                )
                data = event["data"]
                assert data["id"] == domain["id"] and data["region"] == "us-east-1", event
                assert [r["record"] for r in data["records"]] == ["SPF", "SPF", "DKIM"], event
                types.append(event["type"])
            assert sorted(types) == ["domain.created", "domain.deleted"], types
            resend.Webhooks.remove(hook["id"])
        finally:
            receiver.close()

    check("domains: domain.created and domain.deleted webhooks pass Webhooks.verify", domain_webhooks)


# --------------------------------------------------------------------------------------------
# Templates: POST/GET/PATCH/DELETE /templates, publish, duplicate; Emails.send with a template.


def templates_checks(sending):
    alias = "python-welcome"
    state = {}

    def create():
        created = resend.Templates.create(
            {
                "name": "Python welcome",
                "alias": alias,
                "from": "Acme <hi@example.com>",
                "subject": "Hi {{{NAME}}}",
                "reply_to": ["help@example.com"],
                "html": "<p>Hi {{{NAME}}}, {{{COUNT}}} new</p>",
                "text": "Hi {{{NAME}}}",
                "variables": [
                    {"key": "NAME", "type": "string"},
                    {"key": "COUNT", "type": "number", "fallback_value": 0},
                ],
            }
        )
        assert created["object"] == "template" and UUID.match(created["id"]), created
        state["id"] = created["id"]

    check("templates: create -> {id, object}", create)

    def get():
        got = resend.Templates.get(state["id"])
        assert got["object"] == "template" and got["status"] == "draft", got
        assert got["alias"] == alias and got["published_at"] is None
        assert got["has_unpublished_versions"] is True
        assert RESOURCE_TIME.match(got["updated_at"]), got
        assert [(v["key"], v["type"], v["fallback_value"]) for v in got["variables"]] == [
            ("NAME", "string", None),
            ("COUNT", "number", 0),
        ], got["variables"]
        assert resend.Templates.get(alias)["id"] == state["id"]

    check("templates: get by id and by alias", get)

    def list_paged():
        other = resend.Templates.create({"name": "Python other", "html": "<p>x</p>"})
        page = resend.Templates.list({"limit": 1})
        assert page["object"] == "list" and page["has_more"] is True, page
        assert page["data"][0]["id"] == other["id"]
        following = resend.Templates.list({"limit": 1, "after": other["id"]})
        assert following["data"][0]["id"] == state["id"], following
        resend.Templates.remove(other["id"])

    check("templates: list pages newest first", list_paged)

    def publish_then_update():
        published = resend.Templates.publish(state["id"])
        assert published["id"] == state["id"] and published["object"] == "template", published
        got = resend.Templates.get(state["id"])
        assert got["status"] == "published" and got["has_unpublished_versions"] is False, got
        updated = resend.Templates.update({"id": state["id"], "html": "<p>Draft {{{NAME}}}</p>"})
        assert updated["id"] == state["id"], updated
        got = resend.Templates.get(alias)
        assert got["has_unpublished_versions"] is True and got["html"] == "<p>Draft {{{NAME}}}</p>"

    check("templates: publish, then update keeps a draft version", publish_then_update)

    if sending:

        def send():
            sent = resend.Emails.send(
                {
                    "to": ["delivered@resend.dev"],
                    "template": {"id": alias, "variables": {"NAME": "<Ann>", "COUNT": 2}},
                }
            )
            email = resend.Emails.get(sent["id"])
            assert email["html"] == "<p>Hi &lt;Ann&gt;, 2 new</p>", email["html"]
            assert email["text"] == "Hi <Ann>", email["text"]
            assert email["subject"] == "Hi <Ann>" and email["from"] == "Acme <hi@example.com>"
            assert email["reply_to"] == ["help@example.com"], email

        check("templates: Emails.send with a template renders the published version", send)

        def batch():
            sent = resend.Batch.send(
                [
                    {"to": ["delivered@resend.dev"], "template": {"id": state["id"], "variables": {"NAME": "A"}}},
                    {"to": ["delivered@resend.dev"], "template": {"id": state["id"], "variables": {"NAME": "B"}}},
                ]
            )
            assert len(sent["data"]) == 2, sent

        check("templates: Batch.send with templates", batch)

        check(
            "templates: template with text -> ValidationError (422)",
            lambda: expect_error(
                lambda: resend.Emails.send(
                    {
                        "to": ["delivered@resend.dev"],
                        "text": "x",
                        "template": {"id": state["id"], "variables": {"NAME": "x"}},
                    }
                ),
                exceptions.ValidationError,
                422,
                "validation_error",
            ),
        )
        check(
            "templates: undeclared variable -> ValidationError (422)",
            lambda: expect_error(
                lambda: resend.Emails.send(
                    {
                        "to": ["delivered@resend.dev"],
                        "template": {"id": state["id"], "variables": {"NAME": "x", "OTHER": 1}},
                    }
                ),
                exceptions.ValidationError,
                422,
                "validation_error",
            ),
        )

    def duplicate():
        copy = resend.Templates.duplicate(state["id"])
        assert copy["object"] == "template" and copy["id"] != state["id"], copy
        got = resend.Templates.get(copy["id"])
        assert got["status"] == "draft" and got["alias"] is None, got
        resend.Templates.remove(copy["id"])

    check("templates: duplicate -> a draft copy", duplicate)

    check(
        "templates: reserved variable -> ValidationError (422)",
        lambda: expect_error(
            lambda: resend.Templates.create(
                {
                    "name": "bad",
                    "html": "<p>x</p>",
                    "variables": [{"key": "FIRST_NAME", "type": "string"}],
                }
            ),
            exceptions.ValidationError,
            422,
            "validation_error",
        ),
    )
    check(
        "templates: missing html -> MissingRequiredFieldsError (422)",
        lambda: expect_error(
            lambda: resend.Templates.create({"name": "bad"}),
            exceptions.MissingRequiredFieldsError,
            422,
            "missing_required_field",
        ),
    )

    def remove():
        removed = resend.Templates.remove(state["id"])
        assert removed["deleted"] is True and removed["id"] == state["id"], removed
        expect_error(lambda: resend.Templates.get(state["id"]), exceptions.ResendError, 404, "not_found")

    check("templates: remove -> deleted, then get -> ResendError 404", remove)


# --------------------------------------------------------------------------------------------

if __name__ == "__main__":
    api_keys_checks()
    auth_checks()
    if os.environ.get("HERALD_COMPAT_SKIP_EMAILS") == "1":
        print("# emails API checks skipped (HERALD_COMPAT_SKIP_EMAILS=1)")
    else:
        emails_checks()
    webhooks_checks(deliveries=os.environ.get("HERALD_COMPAT_SKIP_EMAILS") != "1")
    domains_checks()
    templates_checks(sending=os.environ.get("HERALD_COMPAT_SKIP_EMAILS") != "1")
    logs_checks(check, expect_error, exceptions, UNKNOWN_ID, RESOURCE_TIME)
    __import__("broadcasts").broadcasts_checks(check, expect_error, UUID, UNKNOWN_ID)
    print(f"python-sdk: {results['passed']} passed, {results['failed']} failed")
    sys.exit(0 if results["failed"] == 0 else 1)
