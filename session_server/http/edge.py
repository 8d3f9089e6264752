"""The first thing every request meets: its address is checked before any route sees it.

A path segment or a query parameter goes into SQL, a page or a log line; PostgreSQL stores no NUL,
and a control character or a broken UTF-8 sequence in an id is never a real one. So the path and
the query string are decoded strictly (percent-escapes, then UTF-8) and refused with 400
``invalid_text`` when they hold a character text may not (``domain.text``), or ``uri_too_long``
(414) past :data:`MAX_TARGET` bytes. Bodies are checked by their models (``domain.text.Strict``);
numbers in the query by ``http.whole_number``. Nothing here reads or rewrites a response, so it may
wrap the event streams.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from session_server.domain.text import TEXT_ERROR, bad_character
from session_server.http import notices
from session_server.http.responses import error_response

MAX_TARGET = 8192
"""The longest path and query string together, in bytes as sent (nginx's default buffer is 8 KiB)."""


def refusal(scope: Scope) -> tuple[int, str, str, str] | None:
    """Why the request's address is refused: ``(status, code, message, field)``; None when it is clean."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    if len(raw_path) + len(query) > MAX_TARGET:
        return 414, "uri_too_long", f"the address is longer than {MAX_TARGET} bytes", "path"
    for field, raw in (("path", raw_path), ("query", query.replace(b"+", b" "))):
        try:
            text = unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return 400, TEXT_ERROR, f"the {field} is not valid UTF-8", field
        bad = bad_character(text)
        if bad is not None:
            return 400, TEXT_ERROR, f"the {field}: the character {bad} is not allowed", field
    return None


NOSNIFF = (b"x-content-type-options", b"nosniff")


class CleanAddresses:
    """ASGI middleware: refuse a request whose path or query string a route must never see, and mark
    every response ``X-Content-Type-Options: nosniff`` (a browser takes each body as the type it is
    sent as: a JSON answer or an uploaded PDF is never run as a script or a page)."""

    def __init__(self, app: ASGIApp, *, page_headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.page_headers = page_headers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            send = _with_nosniff(send)
        refused = refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, code, message, field = refused
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": code})
            return
        response: Response = (
            notices.error_page(status, self.page_headers)
            if notices.for_people(scope["path"])
            else error_response(status, code, message, field=field)
        )
        await response(scope, receive, send)


def _with_nosniff(send: Send) -> Send:
    async def send_nosniff(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers") or []
            if not any(name.lower() == NOSNIFF[0] for name, _ in headers):
                message["headers"] = [*headers, NOSNIFF]
        await send(message)

    return send_nosniff
