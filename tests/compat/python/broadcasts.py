"""Broadcasts through the official Python SDK: every route, errors included. Called once from
suite.py with its helpers. Sending needs a verified domain: tests/api/compat.rs verifies
`compat-broadcasts.dev` for the team before the suite runs."""

import time

import resend
from resend import exceptions

FROM = "Acme <news@compat-broadcasts.dev>"


def broadcasts_checks(check, expect_error, uuid, unknown_id):
    state = {}

    def create():
        segment = resend.Segments.create({"name": "Python broadcast readers"})
        state["segment"] = segment["id"]
        resend.Contacts.create(
            {"email": "delivered@resend.dev", "first_name": "Dee", "segments": [{"id": segment["id"]}]}
        )
        created = resend.Broadcasts.create(
            {
                "segment_id": segment["id"],
                "from": FROM,
                "subject": "Hello {{{FIRST_NAME|there}}}",
                "name": "Python newsletter",
                "reply_to": ["help@compat-broadcasts.dev"],
                "preview_text": "This month",
                "html": '<p>Hi {{{FIRST_NAME|there}}} <a href="{{{RESEND_UNSUBSCRIBE_URL}}}">unsubscribe</a></p>',
            }
        )
        assert created["object"] == "broadcast", created
        assert uuid.match(created["id"]), created
        state["id"] = created["id"]

    check("broadcasts: create a draft for a segment", create)

    def read_and_update():
        got = resend.Broadcasts.get(state["id"])
        assert got["object"] == "broadcast" and got["status"] == "draft", got
        assert got["segment_id"] == state["segment"] and got["audience_id"] == state["segment"], got
        assert got["reply_to"] == ["help@compat-broadcasts.dev"], got
        listed = resend.Broadcasts.list()
        assert any(b["id"] == state["id"] for b in listed["data"]), listed
        page = resend.Broadcasts.list({"limit": 1})
        assert len(page["data"]) == 1, page
        updated = resend.Broadcasts.update({"broadcast_id": state["id"], "subject": "News for {{{FIRST_NAME|you}}}"})
        assert updated["id"] == state["id"], updated
        assert resend.Broadcasts.get(state["id"])["subject"] == "News for {{{FIRST_NAME|you}}}"

    check("broadcasts: get, list, update a draft", read_and_update)

    def bad_input():
        expect_error(
            lambda: resend.Broadcasts.create({"from": FROM, "subject": "x", "html": "<p>x</p>"}),
            exceptions.MissingRequiredFieldsError,
            422,
            "missing_required_field",
        )
        expect_error(
            lambda: resend.Broadcasts.create(
                {"segment_id": state["segment"], "from": FROM, "subject": "x", "html": "{{{NOPE}}}"}
            ),
            exceptions.ValidationError,
            422,
            "validation_error",
        )
        expect_error(
            lambda: resend.Broadcasts.update({"broadcast_id": state["id"], "text": "{{{unknown}}}"}),
            exceptions.ValidationError,
            422,
            "validation_error",
        )
        expect_error(lambda: resend.Broadcasts.get(unknown_id), exceptions.ResendError, 404, "not_found")
        expect_error(
            lambda: resend.Broadcasts.send({"broadcast_id": state["id"], "scheduled_at": "2020-01-01T00:00:00Z"}),
            exceptions.ValidationError,
            422,
            "validation_error",
        )
        expect_error(
            lambda: resend.Broadcasts.cancel(state["id"]), exceptions.ValidationError, 422, "validation_error"
        )
        unverified = resend.Broadcasts.create(
            {"segment_id": state["segment"], "from": "x@unverified.dev", "subject": "x", "html": "<p>x</p>"}
        )
        expect_error(
            lambda: resend.Broadcasts.send({"broadcast_id": unverified["id"]}),
            exceptions.ResendError,
            403,
            "validation_error",
        )
        resend.Broadcasts.remove(unverified["id"])

    check("broadcasts: bad input -> 422/403 errors, unknown id -> 404", bad_input)

    def schedule_cancel_duplicate_remove():
        copy = resend.Broadcasts.duplicate(state["id"])
        assert copy["object"] == "broadcast", copy
        assert resend.Broadcasts.get(copy["id"])["name"] == "Python newsletter (copy)"
        sent = resend.Broadcasts.send({"broadcast_id": copy["id"], "scheduled_at": "in 1 day"})
        assert sent["id"] == copy["id"], sent
        scheduled = resend.Broadcasts.get(copy["id"])
        assert scheduled["status"] == "draft" and scheduled["scheduled_at"], scheduled
        canceled = resend.Broadcasts.cancel(copy["id"])
        assert canceled["id"] == copy["id"], canceled
        assert resend.Broadcasts.get(copy["id"])["status"] == "canceled"
        expect_error(lambda: resend.Broadcasts.remove(copy["id"]), exceptions.ValidationError, 422, "validation_error")
        another = resend.Broadcasts.duplicate(state["id"])
        removed = resend.Broadcasts.remove(another["id"])
        assert removed["deleted"] is True and removed["id"] == another["id"], removed

    check("broadcasts: schedule, cancel, duplicate, remove", schedule_cancel_duplicate_remove)

    def send_now():
        reply = resend.Broadcasts.send({"broadcast_id": state["id"]})
        assert reply["id"] == state["id"], reply
        got = None
        for _ in range(600):
            got = resend.Broadcasts.get(state["id"])
            if got["status"] == "sent":
                break
            time.sleep(0.05)
        assert got["status"] == "sent" and got["sent_at"], got
        expect_error(
            lambda: resend.Broadcasts.update({"broadcast_id": state["id"], "subject": "x"}),
            exceptions.ValidationError,
            422,
            "validation_error",
        )
        expect_error(
            lambda: resend.Broadcasts.cancel(state["id"]), exceptions.ValidationError, 422, "validation_error"
        )

    check("broadcasts: send now; then it cannot change", send_now)

    def stats():
        listed = None
        for _ in range(600):
            listed = resend.Broadcasts.recipients(state["id"], {"type": "delivered"})
            if listed["data"]:
                break
            time.sleep(0.05)
        assert listed["object"] == "list" and listed["data"][0]["email"] == "delivered@resend.dev", listed
        expect_error(
            lambda: resend.Broadcasts.recipients(state["id"], {"type": "nope"}),
            exceptions.ValidationError,
            422,
            "validation_error",
        )
        links = resend.Broadcasts.clicked_links(state["id"])
        assert links["object"] == "list" and isinstance(links["data"], list), links
        expect_error(lambda: resend.Broadcasts.clicked_links(unknown_id), exceptions.ResendError, 404, "not_found")

    check("broadcasts: recipients and clicked links", stats)
