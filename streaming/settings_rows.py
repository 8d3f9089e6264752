"""Each session's video settings (``video_settings``): the source, the bitrate and the WHIP stream key, kept
apart from the session's log because a camera URL may carry the camera's password."""

from __future__ import annotations

from typing import Any

from session_server.extensions import Database

__all__ = ["VideoSettingsRows"]


class VideoSettingsRows:
    """Queries of ``video_settings``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, session: str) -> dict[str, Any] | None:
        """``source, camera_url, bitrate_kbps`` of the session, or None while nobody has set them."""
        row = await self.database.fetchrow(
            "SELECT source, camera_url, bitrate_kbps FROM video_settings WHERE session = $1", session
        )
        return None if row is None else dict(row)

    async def save(self, session: str, source: str, camera_url: str | None, bitrate_kbps: int, by: str) -> None:
        """Set the session's source and bitrate (its stream key stays)."""
        await self.database.execute(
            """INSERT INTO video_settings (session, source, camera_url, bitrate_kbps, updated_by)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (session) DO UPDATE SET source = $2, camera_url = $3, bitrate_kbps = $4,
                   updated_by = $5, updated_at = now()""",
            session,
            source,
            camera_url,
            bitrate_kbps,
            by,
        )

    async def stream_key(self, session: str) -> tuple[bytes, str] | None:
        """The SHA-256 of the session's stream key and who made it, or None when it has none."""
        row = await self.database.fetchrow(
            "SELECT stream_key, stream_key_by FROM video_settings WHERE session = $1", session
        )
        if row is None or row["stream_key"] is None:
            return None
        return bytes(row["stream_key"]), str(row["stream_key_by"])

    async def replace_stream_key(self, session: str, digest: bytes, by: str) -> None:
        """Keep the SHA-256 of a new stream key: the previous key stops working."""
        await self.database.execute(
            """INSERT INTO video_settings (session, stream_key, stream_key_by, updated_by) VALUES ($1, $2, $3, $3)
               ON CONFLICT (session) DO UPDATE SET stream_key = $2, stream_key_by = $3, updated_by = $3,
                   updated_at = now()""",
            session,
            digest,
            by,
        )
