"""The Starlette application: the JSON API, health checks, the OpenAPI document, the front end's pages.

Errors are JSON (``{"error", "message"}``) for programs and an HTML page for a person opening one of
the site's pages (``notices.for_people``); a database that cannot be reached is a 503 either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from session_server.application.consumers import Consumer, Consumers
from session_server.config import Settings
from session_server.domain.errors import Refusal
from session_server.extensions import installed
from session_server.http import consumers as consumer_routes
from session_server.http import enrollment, ledger_routes, notices, storage, users_routes
from session_server.http import routes as api_routes
from session_server.http.edge import CleanAddresses
from session_server.http.openapi import described, openapi_document
from session_server.http.responses import (
    PAGE_HEADERS,
    RETRY_AFTER,
    ApiError,
    JSONResponse,
    api_error_handler,
    error_response,
    http_exception_handler,
    node_of,
    refusal_handler,
)
from session_server.http.sockets import Admission, session_feed, session_socket
from session_server.node import Node
from session_server.ops.logs import RequestIds
from session_server.ops.metrics import serve_metrics
from session_server.store import database
from session_server.store.events import StoreError

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The process can serve: its database answers."""
    kvorum = node_of(request)
    try:
        await kvorum.store.answers()
    except Exception as exc:
        return error_response(503, "not_ready", f"database unavailable: {exc}")
    return JSONResponse({"status": "ready"})


@described(
    "This document: the core's routes and every installed extension's",
    ok=(200, "OpenAPI 3.1"),
    returns={"type": "object"},
)
async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 description of ``/api/v1``, the core's routes and the extensions' (see ``create_app``)."""
    return JSONResponse(request.state.openapi)


async def store_error_handler(request: Request, exc: Exception) -> Response:
    log.warning("store error on %s: %s", request.url.path, exc)
    return error_response(
        503, "store_unavailable", "the database did not accept the change; nothing was recorded", RETRY_AFTER
    )


async def driver_error_handler(request: Request, exc: Exception) -> Response:
    """The database cannot be reached: 503 ``store_unavailable``, answered like any handled error, so the
    connection stays open for the client's next request (an error left to the server's last-resort
    handler is re-raised, and the server then drops the connection)."""
    if not database.unreachable(exc):
        raise exc  # a bug, not an outage: the last-resort handler logs it and answers 500
    log.warning("database unreachable on %s: %r", request.url.path, exc)
    # the code the screens already explain (web/messages.js): nothing was recorded, try again
    return error_response(
        503, "store_unavailable", "the database cannot be reached now; nothing was recorded", RETRY_AFTER
    )


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    if database.unreachable(exc):
        return await driver_error_handler(request, exc)
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "unexpected server error; it has been logged")


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _for_people(handler: Handler) -> Handler:
    """``handler``'s JSON error for programs; on a page a person opens, the same status as an HTML page."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if not notices.for_people(request.url.path):
            return response
        kept = {k: v for k, v in response.headers.items() if k in ("allow", "retry-after")}
        # A 503 says the database cannot be read: it does not try to read the council's name there.
        council = await notices.council_name(request) if response.status_code != 503 else None
        return notices.error_page(response.status_code, {**PAGE_HEADERS, **kept}, council=council)

    return handle


def _pages(settings: Settings) -> list[Route]:
    """The front end's pages, each one HTML file of web/ with the strict policy."""

    def page(name: str) -> Any:
        async def serve(request: Request) -> Response:
            return FileResponse(settings.web_dir / f"{name}.html", headers=PAGE_HEADERS, media_type="text/html")

        return serve

    def current(name: str) -> Any:
        async def pick(request: Request) -> Response:
            """``/{name}`` → ``/{name}/<id>`` of ``?session=<id>``, else the open sitting, else the next
            scheduled, else the newest, the rest of the query kept (``?lang=en``)."""
            kvorum = node_of(request)
            session = request.query_params.get("session") or await kvorum.sittings.current()
            if session is None:
                return notices.no_sitting_page(PAGE_HEADERS, council=await notices.council_name(request))
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "session"]
            target = f"/{name}/{quote(session, safe='')}" + (f"?{urlencode(rest)}" if rest else "")
            return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})

        return pick

    return [
        Route("/tablet", page("tablet")),
        Route("/receipt", page("receipt")),
        Route("/console", page("console")),
        Route("/display", current("display")),
        Route("/display/{session}", page("display")),
        Route("/live", current("live")),
        Route("/live/{session}", page("live")),
        Route("/favicon.ico", favicon(settings)),
    ]


def favicon(settings: Settings) -> Any:
    """``/favicon.ico``, which browsers ask for on every page that names no icon (and some that do)."""

    async def serve(request: Request) -> Response:
        return FileResponse(
            settings.web_dir / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"}
        )

    return serve


def _static(settings: Settings) -> list[Mount]:
    """The front-end files at ``/static`` (in production nginx serves them from the same folder)."""
    if not settings.web_dir.is_dir():
        log.warning("no front-end files at %s (KVORUM_WEB_DIR): /static is not served", settings.web_dir)
        return []
    # Compressed here only: the API's small replies and the event streams stay uncompressed.
    files = GZipMiddleware(StaticFiles(directory=settings.web_dir), minimum_size=512)
    return [Mount("/static", app=files, name="static")]


async def _warn_if_unsigned(kvorum: Node) -> None:
    """Say it loudly at every start when the council counts ballots nobody signed (a demo council)."""
    council_id = await kvorum.application.council_id()
    if council_id is None:
        return
    council = await kvorum.application.council(council_id)
    if not council.signed_ballots:
        # Loud under `kvorum serve`; under `kvorum demo` it is what the demo is for, and its banner says so.
        log.log(
            logging.INFO if kvorum.settings.demo else logging.WARNING,
            "DEMO COUNCIL %r: ballots are NOT signed on the deputies' devices; anyone with a deputy's password "
            "can vote for them. A real council requires signed ballots (docs/ledger.md).",
            council_id,
        )


def core_api() -> list[BaseRoute]:
    """The core's routes under ``/api/v1`` (each described beside its handler for the OpenAPI document)."""
    return (
        api_routes.routes()
        + ledger_routes.routes()
        + enrollment.routes()
        + users_routes.routes()
        + consumer_routes.routes()
        + storage.routes()
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app; its lifespan opens the database and the services (see ``Node.open``)."""
    settings = settings or Settings.from_env()
    plugged = installed()
    for extension in plugged:  # their own settings: a bad one stops the start here, naming itself
        extension.check_settings(settings, os.environ)

    document: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        async with Node.open(settings) as kvorum, contextlib.AsyncExitStack() as stack:
            core = kvorum.core()
            state: dict[str, object] = {
                "node": kvorum,
                "core": core,
                "openapi": document,
                "admission": Admission(settings.ws_per_address),
                "feed_admission": Admission(settings.ws_per_address),  # event streams: a count of their own
            }
            consumers: list[Consumer] = []
            for extension in plugged:
                opened = await stack.enter_async_context(extension.open(core))
                if taken := sorted(set(opened.state) & {*state, "consumers"}):
                    raise RuntimeError(f"extension {extension.name} names services already named: {taken}")
                state.update(opened.state)
                consumers += opened.consumers
            state["consumers"] = await stack.enter_async_context(
                Consumers(core.database, consumers).run(core.application)
            )
            await _warn_if_unsigned(kvorum)
            state["metrics_port"] = await stack.enter_async_context(serve_metrics(settings.metrics_address, state))
            yield state

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/api/v1/openapi.json", openapi),
            Route("/api/v1/sessions/{session}/stream", session_feed),
            WebSocketRoute("/ws/sessions/{session}", session_socket),
            *_static(settings),
            *_pages(settings),
            Route("/.well-known/kvorum/keys", ledger_routes.keys),
            *[r for e in plugged for r in e.root_routes()],
            Mount(
                "/api/v1",
                routes=core_api() + [r for e in plugged for r in e.routes()],
            ),
        ],
        exception_handlers={
            ApiError: _for_people(api_error_handler),
            Refusal: _for_people(refusal_handler),
            HTTPException: _for_people(http_exception_handler),
            StoreError: _for_people(store_error_handler),
            # the driver's ways of saying the database is away (database.unreachable tells which)
            **dict.fromkeys(
                (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, database.DatabaseUnavailable),
                _for_people(driver_error_handler),
            ),
            Exception: _for_people(internal_error_handler),
        },
        middleware=[Middleware(CleanAddresses, page_headers=PAGE_HEADERS)],
        lifespan=lifespan,
    )
    # Built once, at start: an extension describing a path the core or another extension already does fails here.
    document.update(openapi_document((e.openapi() for e in plugged), app.routes))
    return app


class Served:
    """The app as a server runs it, keeping the lifespan state the server gave it: the services for the
    process that serves it (its signal handler) and for tests that look inside (``state.node``…)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = State()
        # Outside Starlette's own middleware: its last-resort handler answers a bug's 500 from the outermost
        # layer of the app, and that answer, and its log line, carry the request's id too.
        self._outer = RequestIds(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.state = State(scope.setdefault("state", {}))
        await self._outer(scope, receive, send)
