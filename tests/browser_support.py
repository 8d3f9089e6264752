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
from conftest import Demo
from links import CuttableLink
from signing_support import configure_devices

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

__all__ = [
    "CHROMIUM",
    "Browser",
    "CuttableLink",
    "Page",
    "Pages",
    "WebSocketRoute",
    "add_authenticator",
    "enroll",
    "launch",
    "sign_in",
    "signed_ballots_at_localhost",
]


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
                # A fake camera (a moving test pattern) that needs no permission prompt: the broadcast tests.
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()


SIGN_IN_WAIT_MS = 20_000


async def sign_in(
    page: Page, username: str, ready: str, *, connected: bool = False, wait_ms: int = SIGN_IN_WAIT_MS
) -> None:
    """Sign in on a page's own form (password «demo», as every demo account has) and wait for ``ready``
    (and, when ``connected``, for the page's connection light to turn green)."""
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo")
    await page.click("#sign-in-button")
    await page.wait_for_selector(ready, timeout=wait_ms)
    if connected:
        await page.wait_for_selector("#connection[data-status=open]", timeout=wait_ms)


async def signed_ballots_at_localhost(demo: Demo, server_url: str | None = None) -> str:
    """Configure the council for signed ballots with its server reached as http://localhost:<port>
    (WebAuthn needs a secure context and a host name as its relying party id); that origin."""
    origin = (server_url or demo.server.url).replace("127.0.0.1", "localhost")
    await configure_devices(demo, origin, "localhost")
    return origin


async def enroll(page: Page, demo: Demo, origin: str, member: str, *, wait_ms: int = SIGN_IN_WAIT_MS) -> None:
    """Open the secretary's enrollment link for ``member`` on the page and enroll its authenticator."""
    response = await demo.client.post(
        "/api/v1/enrollments", json={"deputy": member}, headers=await demo.headers("secretary")
    )
    assert response.status_code == 201, response.text
    await page.goto(f"{origin}/tablet#enroll={response.json()['token']}")
    await page.click("#enroll-button")
    await page.wait_for_selector("#enroll-status:has-text('Пристрій зареєстровано')", timeout=wait_ms)


async def add_authenticator(context: Any, page: Page) -> tuple[Any, str]:
    """A DevTools virtual platform authenticator that verifies the user (NOTES.md: flags 0x05);
    ``(the CDP session, the authenticator's id)`` for a test that steers it further."""
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
    added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, added["authenticatorId"]


class Pages:
    """The browser contexts a test opens, one page each, closed together when it ends (``async with``);
    the pages' uncaught errors are kept in ``errors``."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.errors: list[Exception] = []

    async def open(self, width: int, height: int, *, authenticator: bool = False, **options: Any) -> Page:
        """A page of ``width``×``height`` in a new context (``options`` go to the context), with a
        virtual authenticator if asked."""
        context = await self.browser.new_context(viewport={"width": width, "height": height}, **options)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: self.errors.append(error))
        if authenticator:
            await add_authenticator(context, page)
        return page

    async def __aenter__(self) -> Pages:
        return self

    async def __aexit__(self, *_: object) -> None:
        for context in self.contexts:
            await context.close()
