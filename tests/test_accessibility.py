"""axe-core (from npm, evaluated in the page) finds no serious or critical violation on the pages.

The file comes from ``KVORUM_AXE`` (``.ci/run`` fetches axe-core with npm into ``.cache/``); without
it the audit skips, unless KVORUM_REQUIRE_BROWSER=1, where it fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from accessibility_support import axe_source, serious_violations
from browser_support import Browser, Page
from conftest import Demo

__all__ = ["axe_source"]  # the fixture, used here

WAIT_MS = 15_000


@pytest.fixture
async def page(browser: Browser, demo_council: Demo) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()


async def _live_session(demo: Demo) -> None:
    """An open meeting with quorum and a closed vote, so results and roll calls are on the pages."""
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{i:02d}", "presence.register") for i in range(1, 19)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    await demo.ok("deputy02", "ballot.cast", vote="v1", choice="against")
    await demo.ok("chair", "vote.close", vote="v1")


async def test_the_tablet_has_no_serious_accessibility_violation(
    page: Page, demo_council: Demo, axe_source: str
) -> None:
    await _live_session(demo_council)
    await page.goto(f"{demo_council.server.url}/tablet")
    await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []
    await page.fill("input[name=username]", "deputy02")
    await page.fill("input[name=password]", "demo")
    await page.click("#sign-in-button")
    await page.wait_for_selector("#results:not([hidden])", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []


async def test_the_console_has_no_serious_accessibility_violation(
    page: Page, demo_council: Demo, axe_source: str
) -> None:
    await _live_session(demo_council)
    await page.goto(f"{demo_council.server.url}/console")
    await page.fill("input[name=username]", "secretary")
    await page.fill("input[name=password]", "demo")
    await page.click("#sign-in-button")
    await page.wait_for_selector("#vote-result:has-text('Рішення')", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []


@pytest.mark.parametrize("path", ["/display/c8-s45", "/live/c8-s45"])
async def test_the_public_pages_have_no_serious_accessibility_violation(
    page: Page, demo_council: Demo, axe_source: str, path: str
) -> None:
    await _live_session(demo_council)
    await page.goto(f"{demo_council.server.url}{path}")
    await page.wait_for_selector("text=/не прийнято/", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []


@pytest.mark.parametrize(
    "path", ["/", "/sessions/c8-s45", "/sessions/c8-s45/minutes", "/deputies/d02", "/search?q=бюджет", "/committees"]
)
async def test_the_portal_pages_have_no_serious_accessibility_violation(
    page: Page, demo_council: Demo, axe_source: str, path: str
) -> None:
    await _live_session(demo_council)
    await page.goto(f"{demo_council.server.url}{path}")
    await page.wait_for_load_state("load")
    assert await serious_violations(page, axe_source) == []


async def test_the_broadcast_page_has_no_serious_accessibility_violation(
    page: Page, demo_council: Demo, axe_source: str
) -> None:
    await page.goto(f"{demo_council.server.url}/broadcast")
    await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []
    await page.fill("input[name=username]", "operator")
    await page.fill("input[name=password]", "demo")
    await page.click("#sign-in-button")
    await page.wait_for_selector("#broadcast-status:has-text('Трансляція не ведеться')", timeout=WAIT_MS)
    await page.click("#make-key")  # the stream key for OBS, shown once
    await page.wait_for_selector("#stream-key:has-text('kvs_')", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []


async def test_the_page_that_checks_a_receipt_has_no_serious_accessibility_violation(
    page: Page, demo_council: Demo, axe_source: str
) -> None:
    await _live_session(demo_council)
    await page.goto(f"{demo_council.server.url}/receipt")
    await page.wait_for_selector("#kept-title:has-text('Квитанції')", timeout=WAIT_MS)
    await page.set_input_files("#file", {"name": "x.json", "mimeType": "application/json", "buffer": b"{}"})
    await page.wait_for_selector("#verdict[data-state=bad]", timeout=WAIT_MS)  # a warning shown
    assert await serious_violations(page, axe_source) == []
