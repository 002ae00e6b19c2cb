"""Logs and metrics checks for the Python SDK: `resend.Logs.list/get` and
`resend.Emails.metrics`. Called from suite.py with its runner and helpers."""

import time

import resend


def log_of(method, endpoint, id):
    """Waits until Herald's request-log writer (batched, off the request path) stored the log
    of the request that answered `id` to `method endpoint`; returns the page, item and log."""
    for _ in range(500):
        page = resend.Logs.list({"limit": 100})
        items = [
            log for log in page["data"]
            if log["endpoint"] == endpoint and log["method"] == method
        ]
        if items:
            log = resend.Logs.get(items[0]["id"])
            if (log["response_body"] or {}).get("id") == id:
                return page, items[0], log
        time.sleep(0.02)
    raise AssertionError(f"the log of {method} {endpoint} was not stored")


def logs_checks(check, expect_error, exceptions, unknown_id, resource_time):
    def list_and_get():
        key = resend.ApiKeys.create({"name": "compat python logs"})
        page, item, log = log_of("POST", "/api-keys", key["id"])
        assert page["object"] == "list"
        assert sorted(item.keys()) == [
            "created_at", "endpoint", "id", "method", "response_status", "user_agent",
        ], item
        assert item["response_status"] == 201
        assert resource_time.match(item["created_at"]), item["created_at"]
        assert item["user_agent"].startswith("resend-python"), item["user_agent"]
        assert log["object"] == "log"
        assert log["request_body"] == {"name": "compat python logs"}, log["request_body"]
        assert log["response_body"]["token"] == "[redacted]"
        assert key["token"] not in str(log)
        resend.ApiKeys.remove(key["id"])

    check("logs: list shows requests newest first; get has both bodies, token redacted", list_and_get)

    def pages():
        page = resend.Logs.list({"limit": 1})
        assert len(page["data"]) == 1 and page["has_more"] is True
        following = resend.Logs.list({"limit": 1, "after": page["data"][0]["id"]})
        assert following["data"][0]["id"] != page["data"][0]["id"]

    check("logs: list pages with limit and after", pages)

    check(
        "logs: get unknown → 404 not_found",
        lambda: expect_error(lambda: resend.Logs.get(unknown_id), exceptions.ResendError, 404, "not_found"),
    )

    def metrics():
        got = resend.Emails.metrics()
        assert got["object"] == "metrics", got
        assert got["granularity"] == "daily" and got["dimensions"] == [], got
        assert "data" not in got, got
        assert len(got["totals"]) == 22 and isinstance(got["totals"]["sent"], int), got
        by_day = resend.Emails.metrics({
            "metrics": ["sent", "delivery_rate"],
            "dimensions": ["period"],
            "granularity": "hourly",
            "timezone": "Europe/Paris",
        })
        assert by_day["metrics"] == ["sent", "delivery_rate"], by_day
        assert by_day["data"] and set(by_day["data"][0]) == {"period", "sent", "delivery_rate"}, by_day
        assert sum(row["sent"] for row in by_day["data"]) == by_day["totals"]["sent"], by_day

    check("metrics: totals of every metric; chosen metrics by hour in a time zone", metrics)

    check(
        "metrics: unknown metric → 422 validation_error",
        lambda: expect_error(
            lambda: resend.Emails.metrics({"metrics": ["nope"]}), exceptions.ValidationError, 422, "validation_error"
        ),
    )
