"""The server's log lines (issue 21): one line per event of interest, plain or JSON (``KVORUM_LOG_FORMAT=json``),
each with the node, and where it applies the request, the sitting and the command it belongs to; never a
password or a token (``Redact``, on every line whatever its format).

The request id comes from a proxy's ``X-Request-Id`` when it is a plain token, else is made here, and is sent
back in the response's ``X-Request-Id`` — so one sitting-day complaint («мій голос не зарахувало о 10:42»)
can be followed from nginx's log through the node's to the command.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from session_server.config import log_settings

__all__ = ["COMMAND", "REQUEST", "SITTING", "Redact", "RequestIds", "configure", "json_formatter", "redacted"]

REQUEST: Final = contextvars.ContextVar[str | None]("kvorum_request", default=None)
SITTING: Final = contextvars.ContextVar[str | None]("kvorum_sitting", default=None)
COMMAND: Final = contextvars.ContextVar[str | None]("kvorum_command", default=None)

_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SITTING_PATH = re.compile(r"^/(?:api/v1/sessions|ws/sessions|sessions|display|live)/([A-Za-z0-9_-]{1,60})")

_SECRETS: Final = (
    re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),  # an Authorization header's credentials
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # a JWT anywhere
    # key=value, "key": "value" or 'key': 'value' (JSON, a Python dict, a query string, a cookie)
    re.compile(
        r"""(?i)(["']?\b(?:password|passwd|refresh_token|access_token|api_key|client_secret|secret|token|"""
        r"""kvorum_refresh)["']?\s*(?:=|:\s*["']))([^"'\s&,;]+)"""
    ),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(?=@)"),  # a password in a URL
)


def redacted(text: str) -> str:
    """``text`` with what looks like a token or a password blanked."""
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + "[redacted]", text)
    return text


class Redact(logging.Filter):
    """Blank out what looks like a token or a password in a record's message, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format call: logging's own error report says so, as before
            return True
        cleaned = redacted(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redacted(record.exc_text)
        return True


class _Json(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "node": self.node,
        }
        for key, var in (("request_id", REQUEST), ("sitting", SITTING), ("command", COMMAND)):
            if (value := var.get()) is not None:
                line[key] = value
        if record.exc_text:
            line["error"] = record.exc_text
        elif record.exc_info:
            line["error"] = redacted(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def json_formatter(node: str | None = None) -> logging.Formatter:
    """A formatter writing each record as one JSON object: time, level, logger, message, node and context."""
    return _Json(node or socket.gethostname())


def configure(env: Mapping[str, str] | None = None) -> None:
    """The process's logging: plain lines by default, JSON with ``KVORUM_LOG_FORMAT=json``; redacted either way.
    Left alone where something else holds it already (a test runner running the CLI in its own process)."""
    form, node = log_settings(os.environ if env is None else env)
    root = logging.getLogger()
    if any(not getattr(h, "kvorum", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.kvorum = True  # type: ignore[attr-defined]  # ours: a second configure replaces it
    handler.setFormatter(
        json_formatter(node) if form == "json" else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(Redact())
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


class RequestIds:
    """ASGI middleware: each request's id (a proxy's ``X-Request-Id`` if plain, else a new one) and its sitting,
    for every line logged while it is handled; the id is sent back as ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.fullmatch(given) else secrets.token_hex(8)
        sitting = _SITTING_PATH.match(scope.get("path", ""))
        tokens = (REQUEST.set(request_id), SITTING.set(sitting.group(1) if sitting else None))

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged if scope["type"] == "http" else send)
        finally:
            REQUEST.reset(tokens[0])
            SITTING.reset(tokens[1])
