"""The portal's settings from the environment, checked when the app is made (a typo stops the start,
naming the setting, not a delivery hours later).

- ``KVORUM_WEBHOOK_ATTEMPTS``: how many times a delivery is tried before it is given up (8).
- ``KVORUM_WEBHOOK_BACKOFF_MS``: the first wait between attempts, doubled each time (10000).
- ``KVORUM_WEBHOOK_NETWORKS``: networks webhooks may reach although they are not the outside world
  (comma-separated, ``10.20.0.0/16``); by default only global addresses (``portal_bridge.egress``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from session_server.config import networks, whole_number

__all__ = ["WebhookConfig", "webhook_config"]


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """How the webhooks' outbox delivers."""

    attempts: int = 8
    backoff_ms: int = 10_000
    networks: str = ""


def webhook_config(env: Mapping[str, str] | None = None) -> WebhookConfig:
    """The webhook settings of ``env`` (the process's environment by default); ``ConfigError`` naming a bad one."""
    env = os.environ if env is None else env
    return WebhookConfig(
        attempts=whole_number(env, "KVORUM_WEBHOOK_ATTEMPTS", 8, low=1, high=100),
        backoff_ms=whole_number(env, "KVORUM_WEBHOOK_BACKOFF_MS", 10_000, low=10, high=86_400_000),
        networks=networks(env, "KVORUM_WEBHOOK_NETWORKS"),
    )
