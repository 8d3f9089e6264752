"""Public ledger endpoints: leaves, checkpoints, proofs, receipts, the export file and the verifier keys.

Everything here is public: the ledger is what residents verify. Hashes and leaves are standard
base64; checkpoints are C2SP signed notes (``text/plain``). See docs/ledger.md.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from session_server.application import council_stream, session_stream
from session_server.domain.roles import Role
from session_server.domain.witnessed import RECEIPT_FORMAT
from session_server.http.openapi import described, query_parameter
from session_server.http.responses import ApiError, node_of, principal, query_int
from session_server.ledger.trees import Ledger, LedgerError, b64
from session_server.ledger.witnessing import Witnessing
from session_server.node import Node

EXPORT_FORMAT = "kvorum-ledger-v1"
MAX_LEAVES = 10_000
"""Leaves per page of ``/ledger``."""


async def _stream(request: Request) -> str:
    """The stream the URL names: ``/sessions/{session}/ledger…`` or ``/council/ledger…``; 404 if absent."""
    kvorum = node_of(request)
    session = request.path_params.get("session")
    if session is not None:
        stream = session_stream(session)
    else:
        council_id = await kvorum.application.council_id()
        if council_id is None:
            raise ApiError(404, "council_not_found", "no council yet")
        stream = council_stream(council_id)
    if await kvorum.store.head(stream) is None:
        kind = "session" if session is not None else "council"
        raise ApiError(404, f"{kind}_not_found", f"no {kind} {session or ''}".strip())
    return stream


def _required(request: Request, name: str, *, low: int) -> int:
    if name not in request.query_params:
        raise ApiError(400, "invalid_parameter", f"{name} is required")
    return query_int(request, name, 0, low=low, high=2**62)


def _ledger_error(exc: LedgerError) -> ApiError:
    status = 404 if exc.code in ("no_checkpoint", "session_not_found") else 400
    return ApiError(status, exc.code, exc.message)


@described(
    "Leaves (base64 of each event's canonical bytes): {origin, size, from, to, leaves}",
    errors_=(400, 404),
    query=[query_parameter("from", "first index"), query_parameter("to", "end")],
)
async def leaves(request: Request) -> Response:
    """``{"origin", "size", "from", "to", "leaves": [base64 …]}``; ``?from=&to=`` pick a range (≤ 10,000)."""
    ledger = node_of(request).ledger
    stream = await _stream(request)
    size = len(await ledger.tree(stream))
    start = query_int(request, "from", 0, low=0, high=2**62)
    end = query_int(request, "to", min(size, start + MAX_LEAVES), low=0, high=2**62)
    if not start <= end <= size:
        raise ApiError(400, "bad_range", f"need 0 <= from <= to <= {size}, got from={start} to={end}")
    if end - start > MAX_LEAVES:
        raise ApiError(400, "bad_range", f"at most {MAX_LEAVES} leaves per request")
    body = {
        "origin": await ledger.origin_of(stream),
        "size": size,
        "from": start,
        "to": end,
        "leaves": [b64(leaf) for leaf in await ledger.leaves(stream, start, end)],
    }
    return JSONResponse(body)


@described(
    "The latest signed checkpoint (C2SP signed note), or ?size=N",
    responses={"200": {"description": "Signed note", "content": {"text/plain": {"schema": {"type": "string"}}}}},
    errors_=(400, 404),
    query=[query_parameter("size", "tree size")],
)
async def checkpoint(request: Request) -> Response:
    """The latest signed checkpoint (``?size=N`` for an earlier one) as a C2SP signed note."""
    ledger = node_of(request).ledger
    stream = await _stream(request)
    size = _required(request, "size", low=0) if "size" in request.query_params else None
    try:
        note = await ledger.checkpoint(stream, size)
    except LedgerError as exc:
        if size is not None or exc.code != "no_checkpoint":
            raise _ledger_error(exc) from None
        note = await ledger.sign(stream)  # nothing signed yet: sign the ledger as it stands
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@described("Sizes of every signed checkpoint")
async def checkpoints(request: Request) -> Response:
    """The sizes of every signed checkpoint, ascending: ``{"sizes": […]}``."""
    ledger = node_of(request).ledger
    return JSONResponse({"sizes": await ledger.checkpoint_sizes(await _stream(request))})


@described(
    "RFC 9162 inclusion proof {index, size, hashes}",
    errors_=(400, 404),
    query=[query_parameter("index", "leaf index", required=True), query_parameter("size", "tree size", required=True)],
)
async def inclusion(request: Request) -> Response:
    """``{"index", "size", "hashes"}``: the RFC 9162 inclusion proof of leaf ``index`` in tree ``size``."""
    ledger = node_of(request).ledger
    stream = await _stream(request)
    index = _required(request, "index", low=0)
    size = _required(request, "size", low=1)
    try:
        hashes = await ledger.inclusion(stream, index, size)
    except LedgerError as exc:
        raise _ledger_error(exc) from None
    return JSONResponse({"index": index, "size": size, "hashes": [b64(h) for h in hashes]})


@described(
    "RFC 9162 consistency proof {from, to, hashes}",
    errors_=(400, 404),
    query=[query_parameter("from", "old size", required=True), query_parameter("to", "new size", required=True)],
)
async def consistency(request: Request) -> Response:
    """``{"from", "to", "hashes"}``: the RFC 9162 consistency proof between trees ``from`` and ``to``."""
    ledger = node_of(request).ledger
    stream = await _stream(request)
    old = _required(request, "from", low=0)
    new = _required(request, "to", low=0)
    try:
        hashes = await ledger.consistency(stream, old, new)
    except LedgerError as exc:
        raise _ledger_error(exc) from None
    return JSONResponse({"from": old, "to": new, "hashes": [b64(h) for h in hashes]})


@described(
    "Receipt for event ?seq=N (kvorum-receipt-v1): {format, origin, session, index, leaf, size, hashes, checkpoint}",
    errors_=(400, 404),
    query=[query_parameter("seq", "the event's seq", required=True)],
)
async def receipt(request: Request) -> Response:
    """A receipt for the event ``?seq=N`` (e.g. one's own ballot): leaf, index, inclusion proof, checkpoint."""
    ledger = node_of(request).ledger
    stream = await _stream(request)
    seq = _required(request, "seq", low=1)
    # under the first checkpoint the council's witnesses cosigned enough, if one covers it: a checkpoint a
    # witness skipped (down meanwhile, or new to the log) would keep the receipt waiting for them for good
    status = await witnessed(node_of(request), stream, latest=10_000)
    done = [c["size"] for c in status["checkpoints"] if c["size"] >= seq and c["witnessed"]]
    try:
        found = (await ledger.receipt(stream, seq, min(done) if status["needed"] and done else None)).as_dict()
    except LedgerError as exc:
        raise _ledger_error(exc) from None
    # the file a deputy keeps (kvorum-receipt-v1, docs/ledger.md "Receipts"), as `kvorum verify --receipt` reads it
    session = request.path_params.get("session")
    head = {"format": RECEIPT_FORMAT, "origin": await ledger.origin_of(stream), "session": session}
    return JSONResponse({**head, **found})


async def export_stream(ledger: Ledger, stream: str, witnessing: Witnessing | None = None) -> dict[str, Any]:
    """One stream's part of the export: leaves up to a fresh checkpoint, every checkpoint, the proofs between.
    A checkpoint signed for it is given the time to be witnessed (``Witnessing.settle``)."""
    latest = await ledger.sign(stream)
    size = int(latest.split("\n")[1])
    if witnessing is not None:
        await witnessing.settle(stream, size)
    sizes = [s for s in await ledger.checkpoint_sizes(stream) if s <= size]
    notes = [await ledger.checkpoint(stream, s) for s in sizes]
    proofs = []
    for old, new in itertools.pairwise(sizes):
        hashes = await ledger.consistency(stream, old, new)
        proofs.append({"from": old, "to": new, "hashes": [b64(h) for h in hashes]})
    return {
        "origin": await ledger.origin_of(stream),
        "leaves": [b64(leaf) for leaf in await ledger.leaves(stream, 0, size)],
        "checkpoints": notes,
        "consistency": proofs,
    }


async def build_export(kvorum: Node, session_id: str) -> dict[str, Any]:
    """The self-contained file ``kvorum verify`` checks: the session's and the council's ledgers and the keys."""
    stream = session_stream(session_id)
    if await kvorum.store.head(stream) is None:
        raise ApiError(404, "session_not_found", f"no session {session_id!r}")
    _, council = await kvorum.application.session(session_id)
    return {
        "format": EXPORT_FORMAT,
        "session": session_id,
        "council": council.id,
        "keys": kvorum.ledger.vkeys(),
        "session_ledger": await export_stream(kvorum.ledger, stream, kvorum.witnessing),
        "council_ledger": await export_stream(kvorum.ledger, council_stream(council.id), kvorum.witnessing),
    }


@described("The whole ledger in one file for `kvorum verify` (kvorum-ledger-v1)", errors_=(404,))
async def export(request: Request) -> Response:
    """The whole ledger of a session in one JSON file, for ``kvorum verify``."""
    kvorum = node_of(request)
    body = await build_export(kvorum, request.path_params["session"])
    filename = f"kvorum-{body['council']}-{body['session']}.ledger.json"
    return JSONResponse(body, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def witnessed(kvorum: Node, stream: str, latest: int = 50) -> dict[str, Any]:
    """Who of the council's witnesses cosigned each of the stream's last ``latest`` checkpoints."""
    council_id = await kvorum.application.council_id()
    council = await kvorum.application.council(council_id) if council_id is not None else None
    listed = council.witnesses if council is not None else ()
    needed = council.witnesses_needed if council is not None else 0
    names = {w.key: w.name for w in listed}
    checkpoints = []
    for size, keys in await kvorum.ledger.cosigners(stream, latest):
        by = [names[key] for key in keys if key in names]
        checkpoints.append({"size": size, "cosigned_by": by, "witnessed": len(by) >= needed})
    return {
        "needed": needed,
        "witnesses": [{"name": w.name, "url": w.url, "key": w.key} for w in listed],
        "latest": checkpoints[-1] if checkpoints else None,
        "checkpoints": checkpoints,
    }


@described(
    "Which of the council's witnesses cosigned each recent checkpoint: {needed, witnesses, latest, checkpoints}",
    errors_=(404,),
)
async def witnesses(request: Request) -> Response:
    """``{"needed", "witnesses": [{name, url, key}], "latest", "checkpoints": [{size, cosigned_by, witnessed}]}``:
    a checkpoint is witnessed once ``needed`` listed witnesses have cosigned it (pending until then)."""
    kvorum = node_of(request)
    return JSONResponse(await witnessed(kvorum, await _stream(request)))


@described(
    "The witnesses' health for the admin: each one's last cosignature and failure, and the ledgers it lags on",
    errors_=(401, 403),
    bearer=True,
)
async def witness_health(request: Request) -> Response:
    """``{"needed", "witnesses": [{name, url, key, cosigned, answered_at, failed_at, failure, behind}]}``
    (admin, secretary): ``behind`` lists the ledgers whose latest checkpoint the witness has not cosigned."""
    who = await principal(request)
    if who.role not in (Role.ADMIN, Role.SECRETARY):
        raise ApiError(403, "forbidden", "the witnesses are looked after by the secretary or an administrator")
    kvorum = node_of(request)
    council_id = await kvorum.application.council_id()
    if council_id is None:
        raise ApiError(404, "council_not_found", "no council yet")
    council = await kvorum.application.council(council_id)
    out = []
    for witness in council.witnesses:
        health = await kvorum.pool.fetchrow("SELECT * FROM witness_health WHERE witness = $1", witness.key)
        cosigned = await kvorum.pool.fetchval("SELECT count(*) FROM cosignatures WHERE witness = $1", witness.key)
        behind = await kvorum.pool.fetch(
            """SELECT c.stream, c.size, l.size AS held
               FROM (SELECT stream, max(size) AS size FROM checkpoints GROUP BY stream) c
               LEFT JOIN witness_logs l ON l.stream = c.stream AND l.witness = $1
               WHERE coalesce(l.size, -1) < c.size ORDER BY c.stream""",
            witness.key,
        )
        out.append(
            {
                "name": witness.name,
                "url": witness.url,
                "key": witness.key,
                "cosigned": int(cosigned),
                "answered_at": health["answered_at"].isoformat() if health and health["answered_at"] else None,
                "failed_at": health["failed_at"].isoformat() if health and health["failed_at"] else None,
                "failure": health["failure"] if health else None,
                "behind": [
                    {"stream": r["stream"], "size": int(r["size"]), "held": r["held"] and int(r["held"])}
                    for r in behind
                ],
            }
        )
    return JSONResponse({"needed": council.witnesses_needed, "witnesses": out})


async def keys(request: Request) -> Response:
    """The council's checkpoint verifier keys (C2SP vkey), one a line, oldest first."""
    lines = "".join(f"{vkey}\n" for vkey in node_of(request).ledger.vkeys())
    return PlainTextResponse(lines, media_type="text/plain; charset=utf-8")


def routes() -> list[BaseRoute]:
    """Ledger routes under ``/api/v1``."""
    out: list[BaseRoute] = []
    for prefix in ("/sessions/{session}/ledger", "/council/ledger"):
        out += [
            Route(prefix, leaves),
            Route(f"{prefix}/checkpoint", checkpoint),
            Route(f"{prefix}/checkpoints", checkpoints),
            Route(f"{prefix}/inclusion", inclusion),
            Route(f"{prefix}/consistency", consistency),
            Route(f"{prefix}/receipt", receipt),
            Route(f"{prefix}/witnesses", witnesses),
        ]
    out.append(Route("/sessions/{session}/ledger/export", export))
    out.append(Route("/witnesses", witness_health))
    return out
