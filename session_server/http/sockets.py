"""Real time: ``WS /ws/sessions/{id}`` for tablets and consoles, SSE ``/api/v1/sessions/{id}/stream`` for residents.

WebSocket protocol (JSON text messages):

- client → ``{"type": "auth", "token"}`` first, within 5 s (else closed with 1008), then
  ``{"type": "sync", "since": seq}`` (0 for a fresh start) and any number of
  ``{"type": "command", "command": {...}}`` (at most 64 awaiting their ack); when the access token
  expires, commands are refused with ``token_expired`` until ``{"type": "auth", "token"}`` brings a
  fresh token of the same user (the subscription itself goes on; answered with
  ``{"type": "authenticated", "expires_in"}``); ``{"type": "ping"}`` at any time is answered with
  ``{"type": "pong"}`` in order with everything else, so a client knows its link is alive;
- server → ``{"type": "snapshot", "seq", "hash", "state"}`` (on a council member's socket ``state``
  also holds ``own: {member, ballots: {vote: choice}, signed: {vote: n}}``: the member's choices in
  open votes and how many signed ballots each accepted, the index of the next nonce) or the
  events after ``since``, then live ``{"type": "event", "event"}`` strictly in ``seq`` order;
  ``{"type": "ack", "id", "seq"}`` after a command committed; ``{"type": "error", "id"?, "error",
  "message", "field"?}``; ``{"type": "resync"}`` before closing with 4000 a client that fell too far
  behind.

Close codes: 1003 a binary message, 1008 authentication or origin, 1009 message over 64 KiB, 1012 the
server is restarting (reconnect), 1013 too many connections from one address or the database cannot
be reached (try again shortly), 4000 resync (reconnect and sync from the last seq), 4404 no such
session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from session_server.application import session_stream
from session_server.domain.commands import SESSION_COMMAND_ADAPTER
from session_server.domain.errors import DomainError
from session_server.domain.session import to_public
from session_server.domain.session_state import SessionState
from session_server.domain.session_view import own_view
from session_server.domain.text import LARGEST_INTEGER
from session_server.http.openapi import described
from session_server.http.responses import ApiError, node_of, parse, whole_number
from session_server.identity.tokens import Principal, TokenError
from session_server.node import Node
from session_server.realtime.direct import CHUNK_WRITER, DROP_SECONDS, FRAME_WRITER
from session_server.realtime.hub import Delivery, Overflowed, Released, Subscriber
from session_server.store.database import unreachable
from session_server.store.events import StoreError

log = logging.getLogger(__name__)

AUTH_SECONDS = 5.0
MAX_MESSAGE = 64 * 1024
CATCH_UP_PAGE = 1000
SNAPSHOT_BEYOND = 5000  # a client further behind than this gets a snapshot instead of every event
SSE_KEEPALIVE_SECONDS = 15.0
MAX_COMMANDS_IN_FLIGHT = 64

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012
CLOSE_TRY_LATER = 1013
CLOSE_RESYNC = 4000
CLOSE_NOT_FOUND = 4404


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """A browser's ``Origin`` must be listed, or be this server itself; clients without one (apps) pass."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    return not allowed and host is not None and urlsplit(origin).netloc == host


async def _own_sealed_ballot(kvorum: Node, state: SessionState, member: str) -> None:
    """Where this node does not hold the opening of the member's last sealed ballot (another node took it,
    or this one restarted since), read it, so that the member's own tablet still shows its choice."""
    vote = state.open_vote
    seq = vote.sealed_voters.get(member) if vote is not None else None
    ballot = vote.sealed_ballots.at(seq) if vote is not None and seq is not None else None
    if vote is not None and ballot is not None and ballot.opening is None:
        vote.sealed_ballots.fill(await kvorum.sittings.openings(state.id, [ballot.seq]))


class Admission:
    """Caps the live connections one client address may hold."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self.open: Counter[str] = Counter()

    def has_room(self, address: str) -> bool:
        """Whether ``address`` may open one more now."""
        return self.open[address] < self.per_address

    @contextlib.contextmanager
    def admit(self, address: str) -> Any:
        """Hold a place for ``address``; yields False when it already holds as many as allowed."""
        if self.open[address] >= self.per_address:
            yield False
            return
        self.open[address] += 1
        try:
            yield True
        finally:
            self.open[address] -= 1
            if not self.open[address]:
                del self.open[address]


def _dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


_PONG = _dumps({"type": "pong"})


class _Connection:
    """One authenticated WebSocket: a reader for commands, a writer for everything sent."""

    def __init__(self, kvorum: Node, websocket: WebSocket, session_id: str, who: Principal) -> None:
        self.kvorum = kvorum
        self.websocket = websocket
        self.session_id = session_id
        self.stream = session_stream(session_id)
        self.who = who
        self.commands: set[asyncio.Task[None]] = set()
        self.synced: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # the client said "sync"
        self.since = 0

    async def run(self, subscriber: Subscriber) -> None:
        reader = asyncio.create_task(self._read(subscriber), name="ws read")
        writer = asyncio.create_task(self._write(subscriber), name="ws write")
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in (reader, writer, *self.commands):
                task.cancel()
            await asyncio.gather(reader, writer, *self.commands, return_exceptions=True)

    async def _read(self, subscriber: Subscriber) -> None:
        while True:
            text = await _receive_text(self.websocket)
            if len(text) > MAX_MESSAGE:
                await self.websocket.close(CLOSE_TOO_BIG, "message over 64 KiB")
                return
            try:
                message = orjson.loads(text)
                kind = message.get("type") if isinstance(message, dict) else None
            except orjson.JSONDecodeError:
                kind, message = None, None
            if kind == "sync" and not self.synced.done():
                since = message.get("since") if isinstance(message, dict) else None
                if not isinstance(since, int) or isinstance(since, bool) or not 0 <= since <= LARGEST_INTEGER:
                    subscriber.put(_dumps(_error(None, "invalid_request", "since must be a whole number ≥ 0")))
                    continue
                self.since = since
                self.synced.set_result(None)
            elif kind == "command" and isinstance(message, dict):
                raw = message.get("command")
                refusal = self._refusal()
                if refusal is not None:
                    subscriber.put(_dumps(_error(_command_id(raw), *refusal)))
                    continue
                task = asyncio.create_task(self._command(subscriber, raw))
                self.commands.add(task)
                task.add_done_callback(self.commands.discard)
            elif kind == "auth" and isinstance(message, dict):  # a fresh token on the open socket
                await self._reauthenticate(subscriber, message.get("token"))
            elif kind == "ping":  # the client's proof the link is alive, answered in order with everything else
                subscriber.put(_PONG)
            elif kind == "sync":
                subscriber.put(_dumps(_error(None, "already_synced", "this connection is already in sync")))
            else:
                expected = 'expected {"type": "sync"|"command"|"auth"|"ping", …}'
                subscriber.put(_dumps(_error(None, "invalid_request", expected)))

    def _refusal(self) -> tuple[str, str] | None:
        """Why a command may not run now, if it may not."""
        if self.who.expires <= time.time():
            return "token_expired", 'the access token has expired: send {"type": "auth", "token": …} with a fresh one'
        if self.kvorum.access.revoked(self.who):
            return "token_revoked", "this sign-in was revoked: sign in again"
        if len(self.commands) >= MAX_COMMANDS_IN_FLIGHT:
            return "too_many_commands", f"at most {MAX_COMMANDS_IN_FLIGHT} commands may await their ack"
        return None

    async def _reauthenticate(self, subscriber: Subscriber, token: Any) -> None:
        try:
            who = await self.kvorum.access.verify(token if isinstance(token, str) else "")
        except TokenError as exc:
            subscriber.put(_dumps(_error(None, exc.code, exc.message)))
            return
        if who.user_id != self.who.user_id:
            subscriber.put(_dumps(_error(None, "forbidden", "a connection stays with the user who opened it")))
            return
        self.who = who
        subscriber.put(_dumps({"type": "authenticated", "expires_in": max(0, int(who.expires - time.time()))}))

    async def _command(self, subscriber: Subscriber, raw: Any) -> None:
        command_id = _command_id(raw)
        try:
            command = parse(SESSION_COMMAND_ADAPTER, orjson.dumps(raw) if raw is not None else b"")
            if command.type == "session.schedule":
                raise ApiError(400, "invalid_request", "schedule a session with POST /api/v1/sessions")
            result = await self.kvorum.application.execute(self.stream, command, self.who.actor())
        except ApiError as exc:
            subscriber.put(_dumps(_error(command_id, exc.code, exc.message, field=exc.field)))
        except DomainError as exc:
            subscriber.put(_dumps(_error(command_id, exc.code, exc.message)))
        except StoreError:
            subscriber.put(_dumps(_error(command_id, "store_unavailable", "nothing was recorded; send it again")))
        else:
            subscriber.put(_dumps({"type": "ack", "id": command.id, "seq": result.seq}))

    async def _write(self, subscriber: Subscriber) -> None:
        try:
            await self._forward(subscriber)
        except Released:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DROP_SECONDS):
                    await self.websocket.close(CLOSE_RESTART, "this server is restarting: reconnect")
        except Overflowed:
            # A client that stopped reading never takes these bytes: the hub has it cut off meanwhile.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DROP_SECONDS):
                    await self.websocket.send_text(_dumps({"type": "resync"}))
                    await self.websocket.close(CLOSE_RESYNC, "too far behind: reconnect and sync from your last seq")

    async def _forward(self, subscriber: Subscriber) -> None:
        # Until the client says where it is, only replies go out; events wait (boundedly) in memory.
        pending: list[Delivery | str] = []
        while not self.synced.done():
            item = await _next_or_sync(subscriber, self.synced)
            if isinstance(item, str):
                await self.websocket.send_text(item)
            elif item is not None:
                pending.append(item)
                if len(pending) > subscriber.limit:
                    raise Overflowed
        subscriber.sent = await self._catch_up()
        for item in pending:
            await self._send(subscriber, item)
        frame_writer = self.websocket.scope.get("extensions", {}).get(FRAME_WRITER)
        while True:
            subscriber.go_direct(frame_writer)  # in sync: the hub writes events straight to the socket
            item = await subscriber.next()
            if item is not None:
                await self._send(subscriber, item)

    async def _send(self, subscriber: Subscriber, item: Delivery | str) -> None:
        if isinstance(item, str):
            await self.websocket.send_text(item)
        elif item.seq > subscriber.sent:
            await self.websocket.send_text(item.ws)
            subscriber.sent = item.seq

    async def _catch_up(self) -> int:
        store = self.kvorum.store
        head = await store.head(self.stream) or 0
        if self.since > head:
            await self.websocket.send_text(
                _dumps(_error(None, "sync_ahead", f"this session has {head} events, not {self.since}: starting afresh"))
            )
        if self.since == 0 or self.since > head or head - self.since > SNAPSHOT_BEYOND:
            state, council = await self.kvorum.application.session(self.session_id)
            digest = await store.hash_at(self.stream, state.seq)
            public = to_public(state, council)
            if self.who.member is not None:  # the member's own choices: the public state shows only who voted
                await _own_sealed_ballot(self.kvorum, state, self.who.member)
                public["own"] = own_view(state, self.who.member)
            snapshot = {"type": "snapshot", "seq": state.seq, "hash": digest, "state": public}
            await self.websocket.send_text(_dumps(snapshot))
            return state.seq
        last = self.since
        while True:
            events = await store.read(self.stream, after=last, limit=CATCH_UP_PAGE)
            for event in events:
                await self.websocket.send_text(Delivery(event).ws)
                last = event.seq
            if len(events) < CATCH_UP_PAGE:
                return last


def _command_id(raw: Any) -> str | None:
    return raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None


def _error(command_id: str | None, code: str, message: str, *, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "error": code, "message": message}
    if command_id is not None:
        error["id"] = command_id
    if field is not None:
        error["field"] = field
    return error


async def _next_or_sync(subscriber: Subscriber, synced: asyncio.Future[None]) -> Delivery | str | None:
    """The next queued item, or None as soon as the client has synced."""
    if synced.done():
        return None
    getter = asyncio.ensure_future(subscriber.next())
    try:
        either: set[asyncio.Future[Any]] = {synced, getter}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        return getter.result() if getter.done() else None
    finally:
        getter.cancel()


async def _receive_text(websocket: WebSocket) -> str:
    """The next text message; a binary one closes the socket with 1003 (the protocol is JSON text)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        await websocket.close(CLOSE_UNSUPPORTED, "messages are JSON text, not binary")
        raise WebSocketDisconnect(CLOSE_UNSUPPORTED)
    assert isinstance(text, str)
    return text


async def _authenticate(kvorum: Node, websocket: WebSocket) -> Principal | None:
    try:
        async with asyncio.timeout(AUTH_SECONDS):
            text = await _receive_text(websocket)
    except TimeoutError:
        await websocket.close(CLOSE_POLICY, "authenticate within 5 s")
        return None
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        message = None
    if not isinstance(message, dict) or message.get("type") != "auth" or not isinstance(message.get("token"), str):
        await websocket.close(CLOSE_POLICY, 'the first message must be {"type": "auth", "token": …}')
        return None
    try:
        return await kvorum.access.verify(message["token"])
    except TokenError as exc:
        await websocket.send_text(_dumps(_error(None, exc.code, exc.message)))
        await websocket.close(CLOSE_POLICY, exc.code)
        return None


async def session_socket(websocket: WebSocket) -> None:
    """``WS /ws/sessions/{id}``: the session's events live, and commands acknowledged after commit."""
    kvorum = node_of(websocket)
    admission: Admission = websocket.state.admission
    session_id = websocket.path_params["session"]
    if not origin_allowed(
        websocket.headers.get("origin"), websocket.headers.get("host"), kvorum.settings.allowed_origins
    ):
        await websocket.close(CLOSE_POLICY)  # before accept: the handshake is refused with 403
        return
    address = websocket.client.host if websocket.client else "unknown"
    with admission.admit(address) as admitted:
        await websocket.accept()
        if not admitted:
            await websocket.close(CLOSE_TRY_LATER, "too many connections from this address")
            return
        try:
            who = await _authenticate(kvorum, websocket)
            if who is None:
                return
            if await kvorum.store.head(session_stream(session_id)) is None:
                await websocket.send_text(_dumps(_error(None, "session_not_found", f"no session {session_id!r}")))
                await websocket.close(CLOSE_NOT_FOUND, "no such session")
                return
            async with kvorum.hub.subscribe(session_stream(session_id)) as subscriber:
                subscriber.attach(websocket.scope.get("extensions", {}).get(FRAME_WRITER))
                await _Connection(kvorum, websocket, session_id, who).run(subscriber)
        except WebSocketDisconnect:
            pass
        except Exception as exc:
            if not unreachable(exc):
                raise
            # the database is away: a documented close the client answers by trying again shortly
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_TRY_LATER, "the database cannot be reached: try again shortly")


def _since(request: Request) -> int:
    header = request.headers.get("last-event-id")
    if header:
        return whole_number(header, "Last-Event-ID", low=0, high=LARGEST_INTEGER)
    return whole_number(request.query_params.get("since") or "0", "since", low=0, high=LARGEST_INTEGER)


def _heartbeat(request: Request) -> tuple[float, bytes]:
    """How long the feed may stay silent, and what it sends then.

    By default a comment every 15 s keeps proxies from closing the response. A screen that must tell
    its viewers within seconds that the link is gone (the chamber display) asks ``?heartbeat=N``
    (2–60 s): then a named ``heartbeat`` event, which the page sees, comes after N silent seconds.
    """
    raw = request.query_params.get("heartbeat")
    if raw is None:
        return SSE_KEEPALIVE_SECONDS, b": keep-alive\n\n"
    return float(whole_number(raw, "heartbeat", low=2, high=60)), b"event: heartbeat\ndata: {}\n\n"


@described(
    "The session's events as Server-Sent Events (id: seq), from after Last-Event-ID or ?since=",
    responses={
        "200": {
            "description": "Endless; a client too far behind gets `event: resync` and the end",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
    errors_=(400, 404),
    reasons={400: "Last-Event-ID or since is not a whole number"},
    query=[
        {
            "name": "Last-Event-ID",
            "in": "header",
            "description": "the last seq received (EventSource sends it when it reconnects)",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        {
            "name": "since",
            "in": "query",
            "description": "the last seq received, where the header cannot be set; the header wins",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
    ],
)
async def session_feed(request: Request) -> Response:
    """``GET /api/v1/sessions/{id}/stream``: the public events as Server-Sent Events, resumable."""
    kvorum = node_of(request)
    session_id = request.path_params["session"]
    stream = session_stream(session_id)
    since = _since(request)
    idle_seconds, heartbeat = _heartbeat(request)
    head = await kvorum.store.head(stream)
    if head is None:
        raise DomainError("session_not_found", f"no session {session_id!r}")
    if since > head:  # a position from another life of this session (or made up): start afresh, as sync does
        since = 0

    chunk_writer = request.scope.get("extensions", {}).get(CHUNK_WRITER)
    admission: Admission = request.state.feed_admission
    address = request.client.host if request.client else "unknown"
    if not admission.has_room(address):
        raise ApiError(429, "too_many_connections", "too many event streams from this address", {"Retry-After": "10"})

    async def frames() -> AsyncIterator[bytes]:
        with admission.admit(address) as admitted:
            if not admitted:  # taken meanwhile by another stream from the same address
                return
            async with kvorum.hub.subscribe(stream) as subscriber:
                subscriber.attach(chunk_writer, sse=True)
                yield b"retry: 2000\n\n"
                subscriber.sent = since
                while True:
                    events = await kvorum.store.read(stream, after=subscriber.sent, limit=CATCH_UP_PAGE)
                    for event in events:
                        yield Delivery(event).sse
                        subscriber.sent = event.seq
                    if len(events) < CATCH_UP_PAGE:
                        break
                while True:
                    subscriber.go_direct(chunk_writer, sse=True)  # in sync: the hub writes events straight out
                    try:
                        item = await subscriber.next(idle_seconds=idle_seconds)
                    except Overflowed:
                        yield b"event: resync\ndata: {}\n\n"
                        return
                    except Released:  # the node is stopping: the response ends, EventSource reconnects
                        return
                    if item is None:
                        yield heartbeat
                    elif isinstance(item, Delivery) and item.seq > subscriber.sent:
                        yield item.sse
                        subscriber.sent = item.seq

    headers = {
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",  # nginx: do not buffer this response
        "Connection": "keep-alive",
    }
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)
