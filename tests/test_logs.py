"""The server's log (issue 21): with ``KVORUM_LOG_FORMAT=json`` one JSON object a line, each with the node and,
where it applies, the request id (a proxy's, echoed back), the sitting and the command; and never a password
or a token — the whole log of a sign-in, a few commands and a refusal is searched for them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from conftest import Demo

from session_server.config import ConfigError, log_settings
from session_server.ops.logs import Redact, json_formatter, redacted


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged during the test, as ``KVORUM_LOG_FORMAT=json`` writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter("node-a"))
    handler.addFilter(Redact())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_json_lines_carry_the_request_the_sitting_and_the_command_and_never_a_secret(
    demo_council: Demo, json_log: io.StringIO
) -> None:
    demo = demo_council
    signed_in = await demo.client.post("/api/v1/auth/login", json={"username": "chair", "password": "demo"})
    assert signed_in.status_code == 200
    access = signed_in.json()["access_token"]
    refresh = signed_in.cookies.get("kvorum_refresh") or ""
    wrong = await demo.client.post("/api/v1/auth/login", json={"username": "chair", "password": "Wrong-Pass-987"})
    assert wrong.status_code == 401
    opened = await demo.client.post(
        "/api/v1/sessions/c8-s45/commands",
        json={"id": "open-logged", "type": "session.open"},
        headers={"authorization": f"Bearer {access}", "x-request-id": "rq-42"},
    )
    assert opened.status_code == 200 and opened.headers["x-request-id"] == "rq-42"
    assert len((await demo.client.get("/healthz")).headers["x-request-id"]) == 16  # made here when none came
    refused = await demo.command("deputy01", "ballot.cast", vote="v9", choice="for")
    assert refused.json()["error"] == "unknown_vote"
    logging.getLogger("kvorum.test").info("Authorization: Bearer %s password=%s", access, "Hunter2-Pass")

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines and all(
        line["node"] == "node-a" and {"time", "level", "logger", "message"} <= set(line) for line in lines
    )
    [opening] = [line for line in lines if "open-logged" in line["message"]]
    assert (opening["request_id"], opening["sitting"], opening["command"]) == ("rq-42", "c8-s45", "open-logged")
    assert opening["message"] == "session.open open-logged on 'session:c8-s45': ok"
    assert any("ballot.cast" in line["message"] and line["message"].endswith("unknown_vote") for line in lines)
    text = json_log.getvalue()
    for secret in (access, refresh, "Wrong-Pass-987", "Hunter2-Pass", '"password": "demo"'):
        if secret:
            assert secret not in text, f"the log holds a secret: {secret[:12]}…"
    assert "[redacted]" in text


async def test_a_bugs_500_carries_the_request_id_in_its_answer_and_in_its_log_line(
    demo_council: Demo, json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug, injected")

    monkeypatch.setattr(demo_council.server.kvorum.sittings, "listed", broken)
    response = await demo_council.client.get("/api/v1/sessions", headers={"x-request-id": "rq-500"})
    assert response.status_code == 500 and response.json()["error"] == "internal_error"
    assert response.headers["x-request-id"] == "rq-500"  # what the council's IT staff quote to find it
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    [bug] = [line for line in lines if line["message"] == "unhandled error on /api/v1/sessions"]
    assert bug["request_id"] == "rq-500" and bug["level"] == "error" and "a bug, injected" in bug["error"]


def test_redact_blanks_tokens_and_passwords_whatever_logs_them() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%s", ("token=abc123 Bearer eyJhbGciOi.eyJzdWIi.c2ln",), None
    )
    Redact().filter(record)
    assert record.getMessage() == "token=[redacted] [redacted]"


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("{'password': 'x', 'user': 'bob'}", "{'password': '[redacted]', 'user': 'bob'}"),
        ('{"password": "demo"}', '{"password": "[redacted]"}'),
        ("password=x&user=bob", "password=[redacted]&user=bob"),
        ("cookie kvorum_refresh=abc.def; path=/", "cookie kvorum_refresh=[redacted]; path=/"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: [redacted]"),
        ("postgresql://kvorum:S3cret@db:5432/kvorum", "postgresql://kvorum:[redacted]@db:5432/kvorum"),
        ("secret: 1 of 3 members ready", "secret: 1 of 3 members ready"),  # words, not a secret's value
    ],
)
def test_redact_knows_the_shapes_a_secret_takes_and_leaves_words_alone(said: str, written: str) -> None:
    assert redacted(said) == written


def test_a_bad_format_call_is_still_reported_by_logging_not_raised_by_the_filter() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None)
    assert Redact().filter(record) is True


def test_a_log_format_kvorum_does_not_know_is_one_readable_line() -> None:
    with pytest.raises(ConfigError, match="KVORUM_LOG_FORMAT must be plain or json"):
        log_settings({"KVORUM_LOG_FORMAT": "xml"})
    assert log_settings({}) == ("plain", None)
    assert log_settings({"KVORUM_LOG_FORMAT": "JSON", "KVORUM_NODE_NAME": "node-b"}) == ("json", "node-b")
