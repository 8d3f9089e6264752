"""The video's request model and the schemas its routes under ``/api/v1`` answer with, for the OpenAPI
document (each route is described beside its handler in ``streaming/api.py``).

WHIP, WHEP and the HLS files are served at the site's root, outside ``/api/v1``, and are not in the
document (docs/api.md describes them).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StringConstraints, TypeAdapter

from session_server.domain.session_state import BroadcastStatus
from session_server.http.openapi import OpenAPIPaths, component_schemas, ref
from session_server.http.responses import Model
from streaming.chapters import Chapter

__all__ = ["VideoSettingsIn", "description"]


class VideoSettingsIn(Model):
    """A session's video source and bitrate."""

    source: Literal["whip", "camera"] = "whip"
    camera_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    bitrate_kbps: Annotated[int, Field(ge=200, le=8000)] = 1500


_NULLABLE_TEXT = {"type": ["string", "null"]}

# Bodies that no model validates or builds: written from the handlers that answer them.
_WRITTEN_SCHEMAS: dict[str, Any] = {
    "BroadcastStatus": {
        "type": "object",
        "required": [
            "session",
            "status",
            "started_at",
            "viewers",
            "whep",
            "hls",
            "recording",
            "chapters",
            "ice_servers",
        ],
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
            "ice_servers": {
                "type": "array",
                "description": "STUN servers for the browser's RTCPeerConnection (KVORUM_BROWSER_ICE_SERVERS)",
                "items": {"type": "object", "required": ["urls"], "properties": {"urls": {"type": "string"}}},
            },
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


@functools.cache
def description() -> OpenAPIPaths:
    """The schemas the video's routes refer to in ``/api/v1/openapi.json`` (kept once: the models' schemas
    take a while); the routes themselves are described where they are written."""
    return OpenAPIPaths(paths={}, schemas=_schemas())
