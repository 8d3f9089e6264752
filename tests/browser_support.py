"""Headless Chromium for the browser tests: Debian's chromium driven by Playwright's Python package.

A module that imports this is skipped when Playwright or the browser is missing, unless
KVORUM_REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

# A developer without a browser may skip these; CI sets KVORUM_REQUIRE_BROWSER=1 so they fail instead.
_REQUIRED = os.environ.get("KVORUM_REQUIRE_BROWSER") == "1"


def _missing(reason: str) -> None:
    if _REQUIRED:
        raise RuntimeError(f"browser tests required but {reason}")
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright
except ImportError:
    _missing("playwright is not installed: pip install playwright")

CHROMIUM = Path(os.environ.get("KVORUM_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    _missing(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")

__all__ = ["CHROMIUM", "Browser", "Page", "WebSocketRoute", "add_authenticator", "launch"]


@contextlib.asynccontextmanager
async def launch() -> AsyncIterator[Browser]:
    """A headless Chromium with the flags that work on this machine (NOTES.md)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def add_authenticator(context: Any, page: Page) -> None:
    """A DevTools virtual platform authenticator that verifies the user (NOTES.md: flags 0x05)."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
