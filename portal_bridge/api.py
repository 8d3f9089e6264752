"""The decisions workflow's HTTP API, plugged into the app as the ``portal`` extension.

``session_server`` does not import this package: the app finds it through the ``kvorum.extensions``
entry point (pyproject.toml) and calls ``routes()`` and ``open()``.

- ``GET /api/v1/documents`` (anyone): ``{"documents": [...]}``, the read model;
- ``POST /api/v1/documents`` (secretary, admin): register a draft, ``{"id", "document", "number",
  "title", "initiator", "rapporteur", "text"}``;
- ``GET /api/v1/documents/{id}`` (anyone): the document's state, history and attachments, and once
  adopted the ``digest`` the mayor signs; a signed one's signature with its ``check``;
- ``GET /api/v1/documents/{id}/export`` (anyone): the decision's events and the council's ledger, the
  file ``kvorum verify`` checks the mayor's signature in;
- ``POST /api/v1/documents/{id}/commands`` (by command): any command of
  ``portal_bridge.document_commands``;
- ``POST /api/v1/documents/{id}/attachments?name=`` (secretary, admin): a PDF body (≤ 50 MiB),
  stored by its SHA-256, then ``draft.attached``;
- ``GET /api/v1/files/{sha256}`` (anyone): the stored file.

And the page ``/sign`` (``web/sign.html``), where the mayor signs adopted decisions on the enrolled device.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from portal_bridge import egress, feeds, members, opendata, pages, portal, search, webhooks
from portal_bridge.amendment_views import amendment_views, versions
from portal_bridge.config import webhook_config
from portal_bridge.decision_audit import DECISION_EXPORT_FORMAT, check_export
from portal_bridge.decisions import MAX_FILE, DocumentResult, Documents, documents_of
from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER, DocumentAttach
from portal_bridge.documents import DocumentState, digest, overdue
from portal_bridge.outcomes import Outcomes
from portal_bridge.schemas import description
from session_server.config import Settings
from session_server.domain.audit import ExportCheck
from session_server.domain.roles import Role
from session_server.extensions import Core, Opened, core_of
from session_server.http.openapi import OpenAPIPaths, described, json_content, query_parameter, ref
from session_server.http.responses import (
    PAGE_HEADERS,
    ApiError,
    JSONResponse,
    content_disposition,
    json_object,
    parse,
    principal,
    read_body,
)
from session_server.ops.retention import Holding

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _answer(extra: str, said: str) -> dict[str, Any]:
    """The JSON body ``{"seq", "events"}`` with one more field, for the OpenAPI document."""
    return json_content(
        {
            "allOf": [
                ref("CommandResult"),
                {
                    "type": "object",
                    "required": [extra],
                    "properties": {extra: {"type": "string", "description": said}},
                },
            ]
        }
    )


_REGISTERED = _answer("document", "the document's id")
_ATTACHED = _answer("sha256", "the file's SHA-256, where GET /files/{sha256} serves it")


def _documents(request: Request) -> Documents:
    return documents_of(request)


def _result(result: DocumentResult) -> dict[str, Any]:
    return {"seq": result.seq, "events": [e.as_dict() for e in result.events]}


def public(state: DocumentState) -> dict[str, Any]:
    """The JSON view of a document; ``digest`` (hex) once it has a decision number, else null; its
    amendments (each with the numbers of the others it conflicts with) and its text's versions."""
    view = asdict(state)
    view["history"] = [{"type": t, "at": at} for t, at in state.history]
    view["digest"] = digest(state).hex() if state.decision_number is not None else None
    view["amendments"] = amendment_views(state)
    view["adopted_amendments"] = list(state.adopted_amendments)
    view["versions"] = versions(state)
    return view


@described(
    "Every registered document (the read model), newest registry number first",
    returns={
        "type": "object",
        "required": ["documents"],
        "properties": {"documents": {"type": "array", "items": ref("DocumentSummary")}},
    },
)
async def list_documents(request: Request) -> Response:
    """Every registered document (the read model)."""
    return JSONResponse({"documents": await _documents(request).list()})


@described(
    "Register a draft decision (secretary, admin). Repeating an id replays.",
    body=ref("RegisterDocument"),
    responses={
        "201": {"description": "Registered", **_REGISTERED},
        "200": {"description": "A repeated command id: its first result", **_REGISTERED},
    },
    errors_=(400, 401, 403, 404, 409, 413),
    reasons={
        400: "Malformed JSON, unknown field, wrong type, or a type other than document.register",
        404: "No council yet",
        409: "The document exists, or the command id was used by another user",
    },
    bearer=True,
)
async def register(request: Request) -> Response:
    """Register a draft decision (secretary, admin)."""
    who = await principal(request)
    data = json_object(await read_body(request, core_of(request).settings.max_body_bytes))
    if data.setdefault("type", "document.register") != "document.register":
        raise ApiError(400, "invalid_request", "type must be 'document.register' here")
    command = parse(DOCUMENT_COMMAND_ADAPTER, orjson.dumps(data))
    document_id = str(data.get("document", ""))
    result = await _documents(request).execute(document_id, command, who.actor())
    return JSONResponse({"document": document_id, **_result(result)}, status_code=200 if result.replayed else 201)


@described(
    "Signed or published decisions whose execution deadline passed without a done report",
    ok=(200, "Earliest deadline first"),
    returns={
        "type": "object",
        "required": ["overdue"],
        "properties": {"overdue": {"type": "array", "items": ref("Document")}},
    },
)
async def overdue_documents(request: Request) -> Response:
    """Decisions whose execution deadline has passed without a ``done`` report, earliest first."""
    documents = _documents(request)
    ids = [r["id"] for r in await documents.list() if r["status"] in ("signed", "published")]
    states = [await documents.document(i) for i in ids]
    late = overdue(states, date.today())
    return JSONResponse({"overdue": [{**public(d), "execution": d.execution} for d in late]})


@described(
    "A document's state, history and attachments",
    returns=ref("Document"),
    errors_=(404,),
    reasons={404: "No such document"},
)
async def get_document(request: Request) -> Response:
    """A document's state, history and attachments."""
    return JSONResponse(public(await _documents(request).document(request.path_params["document"])))


@described(
    "The decision's events and the council's ledger with signed checkpoints: the file "
    "`kvorum verify` checks the mayor's signature in",
    ok=(200, "A kvorum-decision-v1 file"),
    returns=ref("DecisionExport"),
    errors_=(404,),
    reasons={404: "No such document, or no council yet"},
)
async def export_document(request: Request) -> Response:
    """The decision's export for ``kvorum verify``: its events and the council's ledger with checkpoints."""
    body = await _documents(request).export(request.path_params["document"])
    filename = f"kvorum-{body['council']}-{body['document']}.decision.json"
    return JSONResponse(body, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def sign_page(request: Request) -> Response:
    """``/sign``: the mayor's page for signing adopted decisions (static, strict policy, like the other pages)."""
    web_dir = core_of(request).settings.web_dir
    return FileResponse(web_dir / "sign.html", headers=PAGE_HEADERS, media_type="text/html")


@described(
    "Run a document command (who may depends on the command); answered after its events "
    "are committed. Repeating an id replays.",
    ok=(200, "Committed"),
    returns=ref("CommandResult"),
    body=ref("DocumentCommand"),
    errors_=(400, 401, 403, 404, 409, 413),
    reasons={
        403: "The caller may not run this command, or the mayor's signature does not verify "
        "(signature_invalid; on the device: unknown_credential, credential_not_yours, "
        "credential_revoked, challenge_mismatch, origin_mismatch, rp_id_mismatch, "
        "user_not_verified)",
        404: "No such document, or no council yet",
        409: "The document's state or the law refuses the command",
    },
    bearer=True,
)
async def document_command(request: Request) -> Response:
    """Run a command on a document; the reply comes after its events are committed."""
    who = await principal(request)
    body = await read_body(request, core_of(request).settings.max_body_bytes)
    command = parse(DOCUMENT_COMMAND_ADAPTER, body)
    result = await _documents(request).execute(request.path_params["document"], command, who.actor())
    return JSONResponse(_result(result))


@described(
    "Upload a PDF for the draft (secretary, admin): stored by its SHA-256, then draft.attached",
    query=[
        query_parameter(
            "name", "the file's name", required=True, schema={"type": "string", "minLength": 1, "maxLength": 200}
        )
    ],
    body={
        "required": True,
        "description": f"The PDF file, at most {MAX_FILE // 2**20} MiB",
        "content": {"application/pdf": {}},
    },
    responses={
        "201": {"description": "Stored and attached", **_ATTACHED},
        "200": {"description": "The same file was attached before: its first result", **_ATTACHED},
    },
    errors_=(400, 401, 403, 404, 409, 413, 415),
    reasons={
        400: "No name, or the body is not a PDF file",
        404: "No such document",
        409: "The draft is already published",
        413: f"Body over {MAX_FILE // 2**20} MiB",
        415: "Content-Type is not application/pdf",
    },
    bearer=True,
)
async def attach(request: Request) -> Response:
    """Upload a PDF for the draft: stored by its SHA-256, then ``draft.attached``."""
    who = await principal(request)
    if who.role not in (Role.SECRETARY, Role.ADMIN):
        raise ApiError(403, "forbidden", "only the secretary or an administrator attaches files")
    name = request.query_params.get("name", "").strip()
    if not name or len(name) > 200:
        raise ApiError(400, "invalid_parameter", "name (the file's name, up to 200 characters) is required")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/pdf":
        raise ApiError(415, "unsupported_media_type", "attachments are PDF files: Content-Type: application/pdf")
    content = await read_body(request, MAX_FILE)
    if not content.startswith(b"%PDF-"):
        raise ApiError(400, "invalid_file", "the body is not a PDF file")
    documents = _documents(request)
    document_id = request.path_params["document"]
    await documents.document(document_id)  # 404 before storing anything for a missing document
    sha256 = await documents.store_file(content, "application/pdf")
    command = DocumentAttach(
        id=f"attach-{hashlib.sha256(f'{document_id}:{sha256}'.encode()).hexdigest()[:32]}",
        type="document.attach",
        name=name,
        sha256=sha256,
        size=len(content),
    )
    result = await documents.execute(document_id, command, who.actor())
    return JSONResponse({"sha256": sha256, **_result(result)}, status_code=200 if result.replayed else 201)


@described(
    "A stored file by its SHA-256 (immutable: cached for a year)",
    responses={
        "200": {
            "description": "The file, with ETag and Cache-Control: immutable",
            "content": {"application/pdf": {}},
        }
    },
    errors_=(400, 404),
    reasons={400: "Not a lower-case hex SHA-256", 404: "No such file"},
)
async def get_file(request: Request) -> Response:
    """A stored file, by its SHA-256 (immutable: cached for a year)."""
    sha256 = request.path_params["sha256"]
    if not _SHA256.match(sha256):
        raise ApiError(400, "invalid_parameter", "a file is named by its SHA-256 in lower-case hex")
    found = await _documents(request).file(sha256)
    if found is None:
        raise ApiError(404, "not_found", "no such file")
    content, media_type = found
    headers = {
        "ETag": f'"{sha256}"',
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Disposition": content_disposition(f"{sha256[:16]}.pdf"),
    }
    return Response(content, media_type=media_type, headers=headers)


class PortalExtension:
    """The decisions workflow as an app extension."""

    name = "portal"
    schema = "portal_bridge.migrations"
    """Its own tables' migrations."""

    def routes(self) -> list[BaseRoute]:
        """Routes under ``/api/v1``."""
        return [
            Route("/documents", list_documents, methods=["GET"]),
            Route("/documents", register, methods=["POST"]),
            Route("/documents/overdue", overdue_documents),
            Route("/documents/{document}", get_document),
            Route("/documents/{document}/commands", document_command, methods=["POST"]),
            Route("/documents/{document}/export", export_document),
            Route("/documents/{document}/attachments", attach, methods=["POST"]),
            Route("/files/{sha256}", get_file),
            *search.routes(),
            *webhooks.routes(),
        ]

    def openapi(self) -> OpenAPIPaths:
        """The schemas ``routes()`` refer to in ``/api/v1/openapi.json`` (each route is described beside its
        handler)."""
        return description()

    async def holdings(self, core: Core) -> Sequence[Holding]:
        """The files attached to drafts, for the storage view (the decisions themselves are in the log)."""
        row = await core.database.fetchrow(
            """SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes, min(created_at) AS oldest,
                      max(created_at) AS newest FROM files"""
        )
        published = await core.database.fetchrow(
            """SELECT count(*) AS count,
                      pg_total_relation_size('od_motions') + pg_total_relation_size('od_votings') AS bytes,
                      min(data->>'date') AS oldest, max(data->>'date') AS newest FROM od_motions"""
        )

        def day(text: str | None) -> datetime | None:
            return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)

        return [
            Holding("files", int(row["count"]), int(row["bytes"]), row["oldest"], row["newest"]),
            # the open data's votes: rebuilt from the log whenever needed (``kvorum portal rebuild``)
            Holding(
                "open_data",
                int(published["count"]),
                int(published["bytes"]),
                day(published["oldest"]),
                day(published["newest"]),
            ),
        ]

    def add_commands(self, commands: Any, with_database: Callable[[Any, Any], None]) -> None:
        """``kvorum portal rebuild``: rebuild the portal's read models from the log."""
        portal = commands.add_parser("portal", help="the portal's read models").add_subparsers(
            dest="portal_command", required=True
        )
        p = portal.add_parser("rebuild", help="rebuild the open data and the decisions' outcomes from the log")

        def rebuild(args: Any) -> None:
            async def work(core: Core) -> None:
                documents = Documents(core)
                consumers = (
                    Outcomes(core, documents),
                    opendata.OpenData(core),
                    search.AgendaIndex(core),
                    members.MemberRecord(core),
                )
                for consumer in consumers:
                    print(f"{consumer.name}: {await consumer.rebuild()} events read")

            with_database(args, work)

        p.set_defaults(run=rebuild)

    def exports(self) -> Mapping[str, ExportCheck]:
        """A decision's export: the mayor's signature against the council's ledger (``decision_audit``)."""
        return {DECISION_EXPORT_FORMAT: check_export}

    def root_routes(self) -> list[BaseRoute]:
        """Open data at ``/opendata/…``, the portal's pages, and the mayor's signing page ``/sign``."""
        return [
            Route("/sign", sign_page),
            *opendata.routes(),
            *pages.routes(),
            *feeds.routes(),
            *portal.routes(),
        ]

    def check_settings(self, settings: Settings, env: Mapping[str, str]) -> None:
        """The webhooks' settings (``portal_bridge.config``): a bad one stops the start, naming itself."""
        webhook_config(env)

    async def seed_demo(self, core: Core) -> None:
        """``kvorum demo``: the demo plenary's drafts, registered, published and sent to the committees."""
        from portal_bridge.demo_drafts import seed_demo_drafts

        await seed_demo_drafts(core)

    @contextlib.asynccontextmanager
    async def open(self, core: Core) -> AsyncIterator[Opened]:
        """The documents service, the webhook sender and the portal's consumers of the log, for the app's life."""
        documents = Documents(core)
        wake = asyncio.Event()
        delivery = webhook_config()
        sender = webhooks.Sender(
            core,
            attempts=delivery.attempts,
            backoff_ms=delivery.backoff_ms,
            wake=wake,
            allow=egress.networks(delivery.networks),
        )
        await sender.start()
        try:
            yield Opened(
                state={"documents": documents, "webhook_sender": sender},
                consumers=[
                    Outcomes(core, documents),
                    opendata.OpenData(core),
                    search.AgendaIndex(core),
                    members.MemberRecord(core),
                    webhooks.Outbox(core, sender_wake=wake),
                ],
            )
        finally:
            await sender.close()


extension = PortalExtension()
"""The ``kvorum.extensions`` entry point."""
