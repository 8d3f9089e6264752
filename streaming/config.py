"""The video's settings from the environment.

- ``KVORUM_ICE_SERVERS``: STUN/TURN servers for WebRTC peers; a comma-separated list of URLs
  (``stun:stun.example.org:3478``) or a JSON list of ``{"urls", "username", "credential"}``. Empty
  (the default): host candidates only, which is enough on a LAN and on loopback.
- ``KVORUM_BROWSER_ICE_SERVERS``: STUN servers the browsers use (a comma-separated list of ``stun:`` URLs),
  given to the pages with the broadcast's status. A browser that learns its public address from one lets
  the video node reach it through a TURN relay (deploy/k8s). Never a TURN server: its password would be
  public. Empty (the default): none, as on a LAN.
- ``KVORUM_WHEP_MAX_VIEWERS``: WebRTC viewers per node (100); more are sent to HLS.
- ``KVORUM_VIDEO_BITRATE_KBPS``: the encode's bitrate when a session sets none (1500).
- ``KVORUM_VIDEO_DIR``: where segments, playlists and recordings go (``<KVORUM_DATA_DIR>/video``).
- ``KVORUM_VIDEO_RESUME_SECONDS``: how long an interrupted broadcast waits for its publisher before
  it is stopped and its recording joined (900).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import orjson
from aiortc import RTCIceServer

from session_server.config import ConfigError as CoreConfigError
from session_server.config import Settings
from streaming.broadcast import VideoConfig

__all__ = ["ConfigError", "browser_ice_servers", "ice_servers", "video_config"]


class ConfigError(CoreConfigError):
    """A video setting that cannot be used (the message names it)."""


def ice_servers(text: str) -> tuple[RTCIceServer, ...]:
    """Parse ``KVORUM_ICE_SERVERS``."""
    text = text.strip()
    if not text:
        return ()
    if not text.startswith("["):
        return tuple(RTCIceServer(urls=url.strip()) for url in text.split(",") if url.strip())
    try:
        entries = orjson.loads(text)
        return tuple(
            RTCIceServer(urls=e["urls"], username=e.get("username"), credential=e.get("credential")) for e in entries
        )
    except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
        raise ConfigError(f"KVORUM_ICE_SERVERS: not a list of {{urls, username, credential}}: {exc}") from None


_STUN = re.compile(r"^stuns?:[A-Za-z0-9.\-\[\]:]+$")


def browser_ice_servers(text: str) -> tuple[str, ...]:
    """Parse ``KVORUM_BROWSER_ICE_SERVERS``: ``stun:`` URLs only, for the pages to hand to every browser."""
    urls = tuple(url.strip() for url in text.split(",") if url.strip())
    for url in urls:
        if not _STUN.match(url):
            raise ConfigError(
                f"KVORUM_BROWSER_ICE_SERVERS: {url!r} is not a stun: URL such as stun:turn.example.ua:3478 "
                "(a TURN server's password would be given to every browser)"
            )
    return urls


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def video_config(settings: Settings, env: Mapping[str, str] | None = None) -> VideoConfig:
    """The video settings for a server with `settings`."""
    env = os.environ if env is None else env
    folder = env.get("KVORUM_VIDEO_DIR", "").strip()
    return VideoConfig(
        folder=Path(folder) if folder else settings.data_dir / "video",
        ice_servers=ice_servers(env.get("KVORUM_ICE_SERVERS", "")),
        browser_ice_servers=browser_ice_servers(env.get("KVORUM_BROWSER_ICE_SERVERS", "")),
        max_viewers=_int(env, "KVORUM_WHEP_MAX_VIEWERS", 100, 0, 10_000),
        bitrate=_int(env, "KVORUM_VIDEO_BITRATE_KBPS", 1500, 200, 8000) * 1000,
        resume_seconds=_int(env, "KVORUM_VIDEO_RESUME_SECONDS", 900, 1, 86_400),
    )
