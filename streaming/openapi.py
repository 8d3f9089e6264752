"""The OpenAPI description of the video's routes under ``/api/v1``: the broadcast, its chapters, its settings.

WHIP, WHEP and the HLS files are served at the site's root, outside ``/api/v1``, and are not here
(docs/api.md describes them).
"""

from __future__ import annotations

import functools
from typing import Any, get_args

from pydantic import TypeAdapter

from session_server.domain.session_state import BroadcastStatus
from session_server.http.openapi import (
    BEARER,
    OpenAPIPaths,
    component_schemas,
    errors,
    json_content,
    path_parameter,
    ref,
)
from streaming.api import VideoSettingsIn
from streaming.chapters import Chapter

__all__ = ["description"]

_STAFF = {403: "Only the video operator, the secretary or an administrator may do this"}
_NULLABLE_TEXT = {"type": ["string", "null"]}

# Bodies that no model validates or builds: written from the handlers that answer them.
_WRITTEN_SCHEMAS: dict[str, Any] = {
    "BroadcastStatus": {
        "type": "object",
        "required": ["session", "status", "started_at", "viewers", "whep", "hls", "recording", "chapters"],
        "properties": {
            "session": {"type": "string"},
            "status": {"enum": ["off", *get_args(BroadcastStatus)]},
            "started_at": {**_NULLABLE_TEXT, "format": "date-time"},
            "viewers": {
                "type": "object",
                "description": "counted when asked, at most every few seconds per node",
                "properties": {"webrtc": {"type": "integer"}, "hls": {"type": "integer"}},
            },
            "whep": {"type": "string", "description": "where to watch over WebRTC (POST an SDP offer)"},
            "hls": {**_NULLABLE_TEXT, "description": "the HLS playlist, once the broadcast has written one"},
            "recording": {**_NULLABLE_TEXT, "description": "the recording, once joined"},
            "chapters": {"type": "string", "description": "the WebVTT chapters"},
        },
    },
    "StreamKey": {
        "type": "object",
        "required": ["key", "whip"],
        "properties": {
            "key": {"type": "string", "pattern": "^kvs_", "description": "shown this once; stored hashed"},
            "whip": {"type": "string", "description": "the WHIP address the key publishes to"},
        },
    },
}


def _schemas() -> dict[str, Any]:
    schemas = component_schemas({"VideoSettings": TypeAdapter(VideoSettingsIn)})
    chapter = TypeAdapter(Chapter).json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    chapter["properties"]["kind"] = {"enum": ["item", "vote.opened", "vote.closed"]}
    schemas["Chapters"] = {
        "type": "object",
        "required": ["session", "started_at", "chapters"],
        "properties": {
            "session": {"type": "string"},
            "started_at": {**_NULLABLE_TEXT, "format": "date-time"},
            "chapters": {"type": "array", "items": ref("Chapter")},
        },
    }
    schemas["Chapter"] = chapter
    return schemas | _WRITTEN_SCHEMAS


def _paths() -> dict[str, Any]:
    session = path_parameter("session", "the session's id")
    no_session = {404: "No such session"}
    return {
        "/sessions/{session}/broadcast": {
            "get": {
                "summary": "Is the session live, how many watch, where to watch (cached 5 s)",
                "parameters": [session],
                "responses": {
                    "200": {"description": "OK", **json_content(ref("BroadcastStatus"))},
                    **errors(404, reasons=no_session),
                },
            }
        },
        "/sessions/{session}/broadcast/camera": {
            "post": {
                "summary": "Pull the camera set in the session's video settings into the broadcast (staff)",
                "security": BEARER,
                "parameters": [session],
                "responses": {
                    "201": {
                        "description": "Pulling",
                        **json_content(
                            {"type": "object", "required": ["resource"], "properties": {"resource": {"type": "string"}}}
                        ),
                    },
                    **errors(
                        400,
                        401,
                        403,
                        404,
                        409,
                        reasons={
                            400: "camera_unreachable: the camera cannot be opened or sends no video",
                            **_STAFF,
                            **no_session,
                            409: "no_camera (the settings name no camera; also for an unknown session), "
                            "publisher_exists, or the log's rules (broadcast_live)",
                        },
                    ),
                },
            },
            "delete": {
                "summary": "Stop pulling the camera (staff): the broadcast stops, the recording is joined after",
                "security": BEARER,
                "parameters": [session],
                "responses": {
                    "204": {"description": "Stopped"},
                    **errors(401, 403, 404, reasons={**_STAFF, 404: "No camera is being pulled for this session"}),
                },
            },
        },
        "/sessions/{session}/chapters": {
            "get": {
                "summary": "The recording's chapters: items and votes, in seconds from the broadcast's start",
                "parameters": [session],
                "responses": {
                    "200": {"description": "OK; empty until the broadcast starts", **json_content(ref("Chapters"))},
                    **errors(404, reasons=no_session),
                },
            }
        },
        "/sessions/{session}/chapters.vtt": {
            "get": {
                "summary": "The same chapters as WebVTT, for a player's chapter menu",
                "parameters": [session],
                "responses": {
                    "200": {"description": "WebVTT", "content": {"text/vtt": {"schema": {"type": "string"}}}},
                    **errors(404, reasons=no_session),
                },
            }
        },
        "/sessions/{session}/video": {
            "get": {
                "summary": "The session's video source and bitrate (staff: a camera URL may hold a password)",
                "security": BEARER,
                "parameters": [session],
                "responses": {
                    "200": {"description": "OK (the defaults until set)", **json_content(ref("VideoSettings"))},
                    **errors(401, 403, 404, reasons={**_STAFF, **no_session}),
                },
            },
            "put": {
                "summary": "Choose the session's source: a WHIP publisher, or a camera pulled by URL (staff)",
                "security": BEARER,
                "parameters": [session],
                "requestBody": json_content(ref("VideoSettings")),
                "responses": {
                    "200": {"description": "The settings now", **json_content(ref("VideoSettings"))},
                    **errors(
                        400,
                        401,
                        403,
                        404,
                        413,
                        reasons={
                            400: "Malformed JSON, unknown field, wrong type, or a camera source without camera_url",
                            **_STAFF,
                            **no_session,
                            413: "Body over 16 KiB",
                        },
                    ),
                },
            },
        },
        "/sessions/{session}/video/key": {
            "post": {
                "summary": "A new stream key for OBS (staff): publishes this session only, never expires; "
                "the previous key stops working",
                "security": BEARER,
                "parameters": [session],
                "responses": {
                    "201": {"description": "Made (Cache-Control: no-store)", **json_content(ref("StreamKey"))},
                    **errors(401, 403, 404, reasons={**_STAFF, **no_session}),
                },
            }
        },
    }


@functools.cache
def description() -> OpenAPIPaths:
    """The video's part of ``/api/v1/openapi.json`` (kept once: the models' schemas take a while)."""
    return OpenAPIPaths(paths=_paths(), schemas=_schemas())
