"""Settings read from the environment (``KVORUM_*``), one immutable object passed to the app."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web"
"""The front end beside the packages in a source checkout (installed elsewhere: set KVORUM_WEB_DIR)."""


class ConfigError(ValueError):
    """A setting has a value Kvorum cannot use; the message names the variable."""


def networks(env: Mapping[str, str], name: str) -> str:
    """A comma-separated list of IP networks, checked here so a typo stops the start, not a delivery."""
    raw = env.get(name, "")
    for part in raw.split(","):
        if part.strip():
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ConfigError(f"{name}: {part.strip()!r} is not an IP network such as 10.20.0.0/16") from None
    return raw


def _proxies(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if raw == "*":
        return ("*",)
    networks({name: raw}, name)
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _address(env: Mapping[str, str], name: str) -> tuple[str, int] | None:
    """``host:port`` (``[::1]:9464`` for IPv6; port 0: any free one), or None when unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    host, colon, port = raw.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{name} must be host:port (e.g. 127.0.0.1:9464), got {raw!r}")
    return host, int(port)


def log_settings(env: Mapping[str, str]) -> tuple[str, str | None]:
    """``(KVORUM_LOG_FORMAT, KVORUM_NODE_NAME)``: "plain" (the default) or "json", and the node's name in JSON
    lines (None: the host name). Read before the other settings, so that their errors are logged as asked."""
    form = (env.get("KVORUM_LOG_FORMAT") or "plain").strip().lower()
    if form not in ("plain", "json"):
        raise ConfigError(f"KVORUM_LOG_FORMAT must be plain or json, got {form!r}")
    return form, (env.get("KVORUM_NODE_NAME") or "").strip() or None


def whole_number(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if not re.fullmatch(r"[a-z0-9.-]{1,253}", value):
        raise ConfigError(f"{name} must be a lower-case host name (letters, digits, dots, hyphens), got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to start; see README "Settings"."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    database_url: str | None = None
    broker_url: str = "memory://"
    allowed_origins: tuple[str, ...] = ()
    access_token_seconds: int = 600
    refresh_token_seconds: int = 12 * 3600
    max_body_bytes: int = 64 * 1024
    pool_size: int = 10
    secure_cookies: bool = False
    ws_per_address: int = 200
    subscriber_queue: int = 1024
    web_dir: Path = field(default_factory=lambda: DEFAULT_WEB_DIR)
    rp_id: str = "localhost"
    ledger_origin: str = "kvorum.localhost"
    checkpoint_seconds: int = 60
    witness_retry_seconds: int = 10
    """How often witnesses that have not cosigned a checkpoint yet are asked again (docs/witness.md)."""
    enrollment_seconds: int = 24 * 3600
    public_url: str = ""
    """The site's address as residents reach it (links in pages, feeds and open data); default: the
    address this server listens on (``http.site_url``), never the request's ``Host``."""
    metrics_address: tuple[str, int] | None = None
    """``KVORUM_METRICS_ADDRESS``: where ``/metrics`` is served (``host:port``, a port of its own, never the
    public one; ``session_server.ops.metrics``); off when unset."""
    trusted_proxies: tuple[str, ...] = ()
    """``KVORUM_TRUSTED_PROXIES``: the proxies whose ``X-Forwarded-For`` names the client (addresses or
    networks, or ``*`` where nothing but the proxy can reach the node); by default none, so a client
    cannot pass for another address (the per-address caps count real peers)."""
    retention_years: int = 5
    """``KVORUM_RETENTION_YEARS``: how long the council keeps its records (at least the law's five years); shown
    by the storage view (``session_server.ops.retention``). Kvorum deletes nothing, after it either."""
    demo: bool = False
    """Started by ``kvorum demo``: a demo council's unsigned ballots are expected, not warned about."""

    @property
    def webauthn_origins(self) -> tuple[str, ...]:
        """Origins where tablets sign ballots: the allowed origins, else this server on localhost."""
        return self.allowed_origins or (f"http://localhost:{self.port}",)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default: ``os.environ``); raise ConfigError on a bad value."""
        env = os.environ if env is None else env
        origins = tuple(o.strip().rstrip("/") for o in env.get("KVORUM_ALLOWED_ORIGINS", "").split(",") if o.strip())
        return cls(
            host=env.get("KVORUM_HOST", "127.0.0.1") or "127.0.0.1",
            port=whole_number(env, "KVORUM_PORT", 8000, low=0, high=65535),
            data_dir=Path(env.get("KVORUM_DATA_DIR", "var") or "var"),
            database_url=env.get("KVORUM_DATABASE_URL") or None,
            broker_url=env.get("KVORUM_BROKER_URL", "memory://") or "memory://",
            allowed_origins=origins,
            access_token_seconds=whole_number(env, "KVORUM_ACCESS_TOKEN_SECONDS", 600, low=30, high=86400),
            refresh_token_seconds=whole_number(env, "KVORUM_REFRESH_TOKEN_SECONDS", 12 * 3600, low=60, high=90 * 86400),
            pool_size=whole_number(env, "KVORUM_DB_POOL_SIZE", 10, low=2, high=200),
            secure_cookies=env.get("KVORUM_SECURE_COOKIES", "").lower() in {"1", "true", "yes"},
            ws_per_address=whole_number(env, "KVORUM_WS_PER_ADDRESS", 200, low=1, high=100_000),
            subscriber_queue=whole_number(env, "KVORUM_SUBSCRIBER_QUEUE", 1024, low=16, high=1_000_000),
            web_dir=Path(env.get("KVORUM_WEB_DIR") or DEFAULT_WEB_DIR),
            rp_id=_name(env, "KVORUM_RP_ID", "localhost"),
            ledger_origin=_name(env, "KVORUM_LEDGER_ORIGIN", "kvorum.localhost"),
            checkpoint_seconds=whole_number(env, "KVORUM_CHECKPOINT_SECONDS", 60, low=1, high=3600),
            witness_retry_seconds=whole_number(env, "KVORUM_WITNESS_RETRY_SECONDS", 10, low=1, high=3600),
            enrollment_seconds=whole_number(env, "KVORUM_ENROLLMENT_SECONDS", 24 * 3600, low=60, high=30 * 86400),
            public_url=(env.get("KVORUM_PUBLIC_URL") or "").rstrip("/"),
            trusted_proxies=_proxies(env, "KVORUM_TRUSTED_PROXIES"),
            metrics_address=_address(env, "KVORUM_METRICS_ADDRESS"),
            retention_years=whole_number(env, "KVORUM_RETENTION_YEARS", 5, low=5, high=100),
        )
