"""The video's HTTP side, plugged into the app as the ``video`` extension.

At the site's root:

- ``POST /whip/{session}`` (operator, secretary, admin, or the session's stream key;
  ``application/sdp``): publish (WHIP,
  RFC 9725). ``201`` with the answer and ``Location: /whip/{session}/{id}``; ``DELETE`` it when
  done (the broadcast stops; the recording is joined right after, in the background). 409 when
  someone already publishes, 400 for an offer that is not SDP or sends no video. No trickle ICE:
  the answer carries every candidate, so ``PATCH`` gets 405.
- ``POST /whep/{session}`` (anyone; ``application/sdp``): watch at low latency (WHEP). ``201`` with
  the answer and a ``Location`` to ``DELETE``; 503 with the HLS address when the node is full.
- ``GET /live/{session}/index.m3u8`` and the segments (HLS), ``recording.m3u8``, ``recording.mp4``.
- ``GET /broadcast?session=``: the operator's page that publishes a camera from the browser.

Under ``/api/v1``:

- ``GET /sessions/{id}/broadcast`` (anyone): status, viewers (counted every few seconds), addresses;
- ``GET /sessions/{id}/chapters`` and ``/chapters.vtt`` (anyone): the recording's chapters;
- ``GET`` / ``PUT /sessions/{id}/video`` (operator, secretary, admin): the source (``whip`` or
  ``camera`` with its URL) and the bitrate;
- ``POST /sessions/{id}/video/key`` (operator, secretary, admin): a new stream key for OBS, a
  bearer token for this session's WHIP only that does not expire (the previous key stops working);
- ``POST`` / ``DELETE /sessions/{id}/broadcast/camera`` (operator, secretary, admin): pull the
  camera set in the settings, or stop pulling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from session_server.application import session_stream
from session_server.config import Settings
from session_server.domain.audit import ExportCheck
from session_server.domain.events import parse_time
from session_server.domain.roles import Actor, Role
from session_server.domain.session_events import BroadcastStopped
from session_server.extensions import Core, Opened, core_of
from session_server.http.openapi import OpenAPIPaths, described, ref
from session_server.http.responses import (
    PAGE_HEADERS,
    ApiError,
    JSONResponse,
    content_disposition,
    parse_model,
    principal,
    read_body,
    site_url,
)
from session_server.identity.tokens import Principal
from session_server.ops.retention import Holding, folder_holding
from streaming.broadcast import Studio
from streaming.chapters import chapters, webvtt
from streaming.config import video_config
from streaming.errors import ViewersFull
from streaming.hls import FILE_NAME
from streaming.schemas import VideoSettingsIn, description
from streaming.settings_rows import VideoSettingsRows

__all__ = ["VideoExtension", "extension"]

log = logging.getLogger("kvorum.video")
MAX_SDP = 64 * 1024
_STAFF = frozenset({Role.OPERATOR, Role.SECRETARY, Role.ADMIN})
_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
}


def _studio(request: Request) -> Studio:
    studio: Studio = request.state.studio
    return studio


def _session(request: Request) -> str:
    return str(request.path_params["session"])


_STAFF_ONLY = {403: "Only the video operator, the secretary or an administrator may do this"}
_NO_SESSION = {404: "No such session"}


async def _staff(request: Request) -> Principal:
    who = await principal(request)
    if who.role not in _STAFF:
        raise ApiError(403, "forbidden", "only the video operator, the secretary or an administrator may do this")
    return who


async def _offer(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/sdp":
        raise ApiError(415, "unsupported_media_type", "send the SDP offer as application/sdp")
    body = await read_body(request, MAX_SDP)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_sdp", "the offer is not UTF-8 text") from None


def _answer(sdp: str, location: str) -> Response:
    return Response(sdp, status_code=201, media_type="application/sdp", headers={"Location": location})


async def _settings(request: Request, session: str) -> dict[str, Any]:
    saved = await VideoSettingsRows(core_of(request).database).get(session)
    if saved is None:
        return {"source": "whip", "camera_url": None, "bitrate_kbps": _studio(request).config.bitrate // 1000}
    return saved


# --- WHIP and WHEP ---------------------------------------------------------------------------------


STREAM_KEY_PREFIX = "kvs_"


def _key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


async def _publisher(request: Request) -> Actor:
    """Who may publish: a staff access token, or the session's stream key (for OBS: access tokens
    expire in minutes, a broadcast lasts hours)."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if not token.startswith(STREAM_KEY_PREFIX):
        return (await _staff(request)).actor()
    session = _session(request)
    kept = await VideoSettingsRows(core_of(request).database).stream_key(session)
    if kept is None or not hmac.compare_digest(kept[0], _key_digest(token)):
        raise ApiError(401, "invalid_token", "this stream key is not the session's (make a new one: POST …/video/key)")
    return Actor(username=f"{kept[1]} (stream key)", role=Role.OPERATOR)


async def whip(request: Request) -> Response:
    """Publish the session's video."""
    who = await _publisher(request)
    session = _session(request)
    offer = await _offer(request)
    settings = await _settings(request, session)
    answer, resource = await _studio(request).publish(session, offer, who, bitrate=settings["bitrate_kbps"] * 1000)
    return _answer(answer, f"/whip/{session}/{resource}")


async def whip_delete(request: Request) -> Response:
    """The publisher is done: the broadcast stops (the recording is joined after)."""
    who = await _publisher(request)
    await _studio(request).unpublish(_session(request), request.path_params["resource"], who)
    return Response(status_code=204)


async def whep(request: Request) -> Response:
    """Watch the session's video over WebRTC."""
    session = _session(request)
    offer = await _offer(request)
    try:
        answer, resource = await _studio(request).watch(session, offer)
    except ViewersFull as exc:  # the HLS stream has room for everyone: say where it is
        hls = f"/live/{session}/index.m3u8"
        body = {"error": exc.code, "message": exc.message, "hls": hls}
        headers = {"Retry-After": "30", "Link": f'<{hls}>; rel="alternate"'}
        return JSONResponse(body, status_code=503, headers=headers)
    return _answer(answer, f"/whep/{session}/{resource}")


async def whep_delete(request: Request) -> Response:
    """A viewer leaves."""
    await _studio(request).unwatch(_session(request), request.path_params["resource"])
    return Response(status_code=204)


async def live_file(request: Request) -> Response:
    """The HLS playlists and segments and the recording, from the session's video folder."""
    session, name = _session(request), str(request.path_params["name"])
    studio = _studio(request)
    path = studio.folder(session) / name
    if not FILE_NAME.match(name) or not session.replace("-", "").isalnum() or not path.is_file():
        raise ApiError(404, "not_found", "no such video file (has the broadcast started?)")
    suffix = path.suffix
    if name == "index.m3u8":
        client = f"{request.client.host if request.client else ''} {request.headers.get('user-agent', '')}"
        studio.saw_hls(session, client)
    cache = "no-cache" if suffix == ".m3u8" else "public, max-age=31536000, immutable"
    if name == "recording.mp4":
        cache = "no-cache"  # rewritten when a stopped broadcast resumes and stops again
    headers = {"Cache-Control": cache, "Content-Disposition": content_disposition(f"{session}-{name}")}
    return FileResponse(path, media_type=_TYPES[suffix], headers=headers)


async def broadcast_page(request: Request) -> Response:
    """The operator's page that publishes the chamber camera from a browser."""
    core = core_of(request)
    page = core.settings.web_dir / "broadcast.html"
    return FileResponse(page, headers=PAGE_HEADERS, media_type="text/html")


# --- the JSON API ----------------------------------------------------------------------------------


@described(
    "Is the session live, how many watch, where to watch (cached 5 s)",
    returns=ref("BroadcastStatus"),
    errors_=(404,),
    reasons=_NO_SESSION,
)
async def broadcast_status(request: Request) -> Response:
    """What a resident's page needs: is it live, how many watch, where to watch."""
    session = _session(request)
    core = core_of(request)
    state, _ = await core.application.session(session)
    studio = _studio(request)
    folder = studio.folder(session)
    current = state.broadcast
    body = {
        "session": session,
        "status": "off" if current is None else current.status,
        "started_at": None if current is None else current.started_at,
        "viewers": {"webrtc": studio.viewers(session), "hls": studio.hls_viewers(session)},
        "whep": f"/whep/{session}",
        "hls": f"/live/{session}/index.m3u8" if (folder / "index.m3u8").is_file() else None,
        "recording": f"/live/{session}/recording.mp4" if (folder / "recording.mp4").is_file() else None,
        "chapters": f"/api/v1/sessions/{session}/chapters.vtt",
        "ice_servers": [{"urls": url} for url in studio.config.browser_ice_servers],
    }
    # Counted when asked, cached a few seconds: a thousand open pages cost one count per node.
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=5"})


async def _chapters(request: Request) -> tuple[list[Any], float, str | None]:
    session = _session(request)
    core = core_of(request)
    state, _ = await core.application.session(session)
    events = await core.events.read(session_stream(session))
    agenda = {item.id: (item.number, item.title) for item in state.agenda.values()}
    found = chapters(events, agenda)
    end = 0.0
    if state.broadcast is not None:
        stopped = next((e for e in reversed(events) if isinstance(e.data, BroadcastStopped)), None)
        until = parse_time(stopped.at).timestamp() if stopped and state.broadcast.status == "stopped" else time.time()
        end = until - parse_time(state.broadcast.started_at).timestamp()
    return found, end, None if state.broadcast is None else state.broadcast.started_at


@described(
    "The recording's chapters: items and votes, in seconds from the broadcast's start",
    ok=(200, "OK; empty until the broadcast starts"),
    returns=ref("Chapters"),
    errors_=(404,),
    reasons=_NO_SESSION,
)
async def chapters_json(request: Request) -> Response:
    """The chapters of the session's recording: offsets in seconds from the broadcast's start."""
    found, _, started_at = await _chapters(request)
    return JSONResponse(
        {"session": _session(request), "started_at": started_at, "chapters": [c.as_dict() for c in found]}
    )


@described(
    "The same chapters as WebVTT, for a player's chapter menu",
    responses={"200": {"description": "WebVTT", "content": {"text/vtt": {"schema": {"type": "string"}}}}},
    errors_=(404,),
    reasons=_NO_SESSION,
)
async def chapters_vtt(request: Request) -> Response:
    """The same chapters as WebVTT, for a player's chapter menu."""
    found, end, _ = await _chapters(request)
    return Response(webvtt(found, end=end), media_type="text/vtt", headers={"Cache-Control": "no-cache"})


@described(
    "The session's video source and bitrate (staff: a camera URL may hold a password)",
    ok=(200, "OK (the defaults until set)"),
    returns=ref("VideoSettings"),
    errors_=(401, 403, 404),
    reasons={**_STAFF_ONLY, **_NO_SESSION},
    bearer=True,
)
async def video_settings(request: Request) -> Response:
    """The session's video settings (staff only: a camera URL may hold the camera's password)."""
    await _staff(request)
    session = _session(request)
    await core_of(request).application.session(session)
    return JSONResponse(await _settings(request, session))


@described(
    "Choose the session's source: a WHIP publisher, or a camera pulled by URL (staff)",
    ok=(200, "The settings now"),
    returns=ref("VideoSettings"),
    body=ref("VideoSettings"),
    errors_=(400, 401, 403, 404, 413),
    reasons={
        400: "Malformed JSON, unknown field, wrong type, or a camera source without camera_url",
        **_STAFF_ONLY,
        **_NO_SESSION,
        413: "Body over 16 KiB",
    },
    bearer=True,
)
async def put_video_settings(request: Request) -> Response:
    """Choose the session's source: a WHIP publisher, or a camera pulled by URL."""
    who = await _staff(request)
    session = _session(request)
    await core_of(request).application.session(session)
    body = parse_model(VideoSettingsIn, await read_body(request, 16 * 1024))
    if body.source == "camera" and not body.camera_url:
        raise ApiError(400, "invalid_request", "a camera source needs camera_url (rtsp://…, http(s)://… or a file)")
    rows = VideoSettingsRows(core_of(request).database)
    await rows.save(session, body.source, body.camera_url, body.bitrate_kbps, who.username)
    return JSONResponse(await _settings(request, session))


@described(
    "A new stream key for OBS (staff): publishes this session only, never expires; the previous key stops working",
    ok=(201, "Made (Cache-Control: no-store)"),
    returns=ref("StreamKey"),
    errors_=(401, 403, 404),
    reasons={**_STAFF_ONLY, **_NO_SESSION},
    bearer=True,
)
async def make_stream_key(request: Request) -> Response:
    """A new stream key for the session (the old one stops working); shown once, stored hashed."""
    who = await _staff(request)
    session = _session(request)
    await core_of(request).application.session(session)
    key = STREAM_KEY_PREFIX + secrets.token_urlsafe(32)
    await VideoSettingsRows(core_of(request).database).replace_stream_key(session, _key_digest(key), who.username)
    whip_url = f"{site_url(request)}/whip/{session}"
    return JSONResponse({"key": key, "whip": whip_url}, status_code=201, headers={"Cache-Control": "no-store"})


@described(
    "Pull the camera set in the session's video settings into the broadcast (staff)",
    ok=(201, "Pulling"),
    returns={"type": "object", "required": ["resource"], "properties": {"resource": {"type": "string"}}},
    errors_=(400, 401, 403, 404, 409),
    reasons={
        400: "camera_unreachable: the camera cannot be opened or sends no video",
        **_STAFF_ONLY,
        **_NO_SESSION,
        409: "no_camera (the settings name no camera; also for an unknown session), "
        "publisher_exists, or the log's rules (broadcast_live)",
    },
    bearer=True,
)
async def start_camera(request: Request) -> Response:
    """Pull the session's camera into the broadcast."""
    who = await _staff(request)
    session = _session(request)
    settings = await _settings(request, session)
    if settings["source"] != "camera" or not settings["camera_url"]:
        raise ApiError(409, "no_camera", "set the session's video source to a camera first (PUT …/video)")
    resource = await _studio(request).pull_camera(
        session, settings["camera_url"], who.actor(), bitrate=settings["bitrate_kbps"] * 1000
    )
    return JSONResponse({"resource": resource}, status_code=201)


@described(
    "Stop pulling the camera (staff): the broadcast stops, the recording is joined after",
    ok=(204, "Stopped"),
    errors_=(401, 403, 404),
    reasons={**_STAFF_ONLY, 404: "No camera is being pulled for this session"},
    bearer=True,
)
async def stop_camera(request: Request) -> Response:
    """Stop pulling the camera: the broadcast stops (the recording is joined after)."""
    who = await _staff(request)
    session = _session(request)
    studio = _studio(request)
    resource = studio.ingest_of(session)
    if resource is None:
        raise ApiError(404, "not_found", "no camera is being pulled for this session")
    await studio.unpublish(session, resource, who.actor())
    return Response(status_code=204)


class VideoExtension:
    """Live video as an app extension."""

    name = "video"
    schema = "streaming.migrations"
    """Its own tables' migrations."""

    def routes(self) -> list[BaseRoute]:
        """Routes under ``/api/v1``."""
        return [
            Route("/sessions/{session}/broadcast", broadcast_status),
            Route("/sessions/{session}/broadcast/camera", start_camera, methods=["POST"]),
            Route("/sessions/{session}/broadcast/camera", stop_camera, methods=["DELETE"]),
            Route("/sessions/{session}/chapters", chapters_json),
            Route("/sessions/{session}/chapters.vtt", chapters_vtt),
            Route("/sessions/{session}/video", video_settings, methods=["GET"]),
            Route("/sessions/{session}/video", put_video_settings, methods=["PUT"]),
            Route("/sessions/{session}/video/key", make_stream_key, methods=["POST"]),
        ]

    def openapi(self) -> OpenAPIPaths:
        """The description of ``routes()`` in ``/api/v1/openapi.json``."""

        return description()

    def root_routes(self) -> list[BaseRoute]:
        """WHIP, WHEP and the HLS files."""
        return [
            Route("/whip/{session}", whip, methods=["POST"]),
            Route("/whip/{session}/{resource}", whip_delete, methods=["DELETE"]),
            Route("/whep/{session}", whep, methods=["POST"]),
            Route("/whep/{session}/{resource}", whep_delete, methods=["DELETE"]),
            Route("/live/{session}/{name}", live_file),
            Route("/broadcast", broadcast_page),
        ]

    def check_settings(self, settings: Settings, env: Mapping[str, str]) -> None:
        """The video's settings (``streaming.config``): a bad one stops the start, naming itself."""
        video_config(settings, env)

    @contextlib.asynccontextmanager
    async def open(self, core: Core) -> AsyncIterator[Opened]:
        """The studio for the app's life; every ingest and viewer closed at the end."""
        studio = Studio(core, video_config(core.settings))
        adopting = asyncio.ensure_future(studio.adopt())  # broadcasts a restart left waiting: not in the start's way
        adopting.add_done_callback(_report_adoption)
        try:
            yield Opened(state={"studio": studio})
        finally:
            adopting.cancel()
            await asyncio.gather(adopting, return_exceptions=True)
            await studio.close()

    def folders(self, settings: Settings) -> Mapping[str, Path]:
        """The video folder (each sitting's segments, playlists and recording): backed up with the database."""
        return {"video": video_config(settings).folder}

    async def holdings(self, core: Core) -> Sequence[Holding]:
        """The video folder for the storage view: how many recordings, how big with their segments, how old."""
        folder = video_config(core.settings).folder
        return [await asyncio.to_thread(folder_holding, "recordings", folder, counted="recording.mp4")]

    def exports(self) -> Mapping[str, ExportCheck]:
        """No exports of its own."""
        return {}

    def add_commands(self, commands: Any, with_database: Callable[[Any, Any], None]) -> None:
        """No subcommands of its own."""


def _report_adoption(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("video: could not look for broadcasts a restart left waiting", exc_info=task.exception())


extension = VideoExtension()
"""The ``kvorum.extensions`` entry point."""
