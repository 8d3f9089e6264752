"""The video part's refusals, each with a stable code; the HTTP edge answers them (``Refusal``)."""

from __future__ import annotations

from session_server.domain.errors import Kind, Refusal

__all__ = ["VideoError", "ViewersFull"]


class VideoError(Refusal):
    """A publisher, viewer or camera refused: ``invalid_sdp``, ``camera_unreachable``, ``publisher_exists``,
    ``not_found``; an invalid request unless its ``kind`` says otherwise."""

    def __init__(self, code: str, message: str, kind: Kind = "invalid") -> None:
        super().__init__(code, message, kind)


class ViewersFull(VideoError):
    """This node has no room for another WebRTC viewer: watch the HLS stream instead (503)."""

    def __init__(self) -> None:
        super().__init__(
            "viewers_full",
            "this server has no room for another low-latency viewer; watch the HLS stream instead",
            "unavailable",
        )
