"""The HTTP edge: JSON responses, errors as ``{"error", "message"}``, bounded bodies, bearer tokens."""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from session_server.application.consumers import Consumers
from session_server.domain.errors import Kind, Refusal
from session_server.domain.text import ALREADY_CLEAN, TEXT_ERROR, Strict, bad_character, clean_json
from session_server.identity.tokens import Principal, TokenError
from session_server.node import Node

M = TypeVar("M")


class JSONResponse(Response):
    """A response serialised with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": message}`` with a 4xx/5xx status."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, *, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.field = field
        """The request field at fault (``title``, ``agenda.0.number``), so a screen shows the error beside it."""


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, *, field: str | None = None
) -> JSONResponse:
    """The one shape every error takes: ``{"error", "message"}``, and ``field`` when one field is at fault."""
    body = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


_STATUS: dict[Kind, int] = {
    "conflict": 409,
    "invalid": 400,
    "forbidden": 403,
    "not_found": 404,
    "gone": 410,
    "unavailable": 503,
}


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers, field=exc.field)


async def refusal_handler(request: Request, exc: Exception) -> Response:
    """Any package's refusal (``DomainError``, ``IdentityError``, …): its kind's status, its code and message."""
    assert isinstance(exc, Refusal)
    return error_response(_STATUS[exc.kind], exc.code, exc.message)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (declared or actually sent)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(error: ValidationError) -> tuple[str, str, str | None]:
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return "malformed_json", f"the body is not valid JSON: {first['msg']}", None
    where = ".".join(str(part) for part in first["loc"]) or "body"
    # The field without the command type a tagged union puts first ("document.register").
    parts = [str(part) for part in first["loc"]]
    if parts and "." in parts[0]:
        parts = parts[1:]
    inner = (first.get("ctx") or {}).get("field")  # a whole-model check names its field here (text.Strict)
    if inner:
        parts.append(str(inner))
        where = ".".join([where, str(inner)]) if where != "body" else str(inner)
    field = ".".join(parts) or None
    if first["type"] == "extra_forbidden":
        return "invalid_request", f"{where}: unknown field", field
    if first["type"] == "union_tag_invalid" and len(first["loc"]) == 0:  # the command's own type
        return "unknown_command", f"{where}: {first['msg']}", None
    if first["type"] == TEXT_ERROR:
        return TEXT_ERROR, f"{where}: {first['msg']}", field
    return "invalid_request", f"{where}: {first['msg']}", field


def parse(adapter: TypeAdapter[M], body: bytes) -> M:
    """Validate a JSON body strictly (no coercion, no unknown fields); ApiError 400 otherwise."""
    if not body:
        raise ApiError(400, "malformed_json", "the body is empty; a JSON object is expected")
    try:
        # the text check is skipped only when the body cannot hold anything it would refuse
        return adapter.validate_json(body, strict=True, context=ALREADY_CLEAN if clean_json(body) else None)
    except ValidationError as exc:
        code, message, field = _describe(exc)
        raise ApiError(400, code, message, field=field) from None


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def parse_model(model: type[M], body: bytes) -> M:
    """``parse`` for a pydantic model class."""
    adapter: TypeAdapter[M] | None = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return parse(adapter, body)


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; ApiError 400 (``malformed_json``, ``invalid_request``) otherwise."""
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    return data


_WHOLE = re.compile(r"-?[0-9]{1,18}")


def whole_number(raw: str, name: str, *, low: int, high: int) -> int:
    """``raw`` as an integer within bounds, ASCII digits only; ApiError 400 ``invalid_parameter`` otherwise."""
    if _WHOLE.fullmatch(raw) is None:
        raise ApiError(400, "invalid_parameter", f"{name} must be a whole number", field=name)
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}", field=name)
    return value


def query_text(request: Request, name: str, *, max_length: int = 200) -> str | None:
    """A text query parameter: no control characters, at most ``max_length``; ApiError 400 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    bad = bad_character(raw)
    if bad is not None:
        raise ApiError(400, TEXT_ERROR, f"{name}: the character {bad} is not allowed in text", field=name)
    if len(raw) > max_length:
        raise ApiError(400, "invalid_parameter", f"{name} is longer than {max_length} characters", field=name)
    return raw


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter within bounds; ApiError 400 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return whole_number(raw, name, low=low, high=high)


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(name: str, *, attachment: bool = False) -> str:
    """A ``Content-Disposition`` value naming a served file safely (RFC 6266): an ASCII ``filename`` of
    letters, digits, dots, dashes and underscores only, and the original as UTF-8 in ``filename*``."""
    ascii_name = _UNSAFE_IN_NAME.sub("_", name).strip("._") or "file"
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def site_url(request: Request) -> str:
    """The site's address for links and instructions: ``KVORUM_PUBLIC_URL``, else the address this
    server listens on (loopback as ``localhost``). Never the request's ``Host`` header, which the
    client writes (a link a page prints must not be one an attacker chose)."""
    public: str = node_of(request).settings.public_url
    if public:
        return public
    host, port = request.scope.get("server") or ("localhost", node_of(request).settings.port)
    if host in ("127.0.0.1", "::1", "0.0.0.0", "::", None):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def principal(request: Request) -> Principal:
    """The caller named by ``Authorization: Bearer <access token>``; ApiError 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "sign in: Authorization: Bearer <access token>", _CHALLENGE)
    try:
        return await node_of(request).access.verify(token.strip())
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message, _CHALLENGE) from None


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kvorum"'}


class Model(Strict):
    """Base of request bodies: strict, no unknown fields, clean text (``text.Strict``)."""


RETRY_AFTER = {"Retry-After": "5"}
"""How long a client waits before it tries again while the database is away (seconds)."""


# The pages load only the app's own scripts, styles and sockets: no inline code anywhere in web/.
# Video plays from the site or, where HLS is played through Media Source Extensions, from blob: URLs.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def node_of(connection: HTTPConnection) -> Node:
    """The services of the process serving ``connection`` (a request or a WebSocket): the core's handlers'
    way to them (an extension gets ``session_server.extensions.core_of`` instead)."""
    node: Node = connection.state.node
    return node


def consumers_of(connection: HTTPConnection) -> Consumers:
    """Every durable consumer of the log the app runs, by name (the core's and the extensions')."""
    consumers: Consumers = connection.state.consumers
    return consumers
