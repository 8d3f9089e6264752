"""The portal's pages, /display and /live in headless Chromium: nothing logged as an error in the
console, no request that fails, nothing wider than a 390 px phone; a screenshot of each page lands in
test-artifacts/ (portal-*.png) to be looked at; axe finds no serious accessibility violation on the
pages this change added.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from accessibility_support import axe_source, serious_violations
from agenda_support import sitting_with_agenda_votes
from browser_support import Browser, Page
from conftest import Demo
from feeds_support import _published_decision
from opendata_support import _json, _session_with_two_votes
from playwright.async_api import ViewportSize

__all__ = ["axe_source"]  # the fixture, used here

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

# (path, status of the page itself, screenshot name)
PORTAL = [
    ("/", 200, "home"),
    ("/sessions", 200, "sessions"),
    ("/decisions", 200, "decisions"),
    ("/deputies", 200, "deputies"),
    ("/sessions/c8-s45", 200, "session"),
    ("/decisions/pr-101", 200, "decision"),
    ("/deputies/d01", 200, "deputy"),
    ("/search?q=зміни+бюджету", 200, "search"),
    ("/sessions/nope", 404, "not-found"),
    ("/sessions?page=9", 400, "bad-page"),
    ("/sessions/c8-s45/minutes", 200, "minutes"),
]


@pytest.fixture
async def sitting(demo_council: Demo) -> Demo:
    """The demo council with two closed votes, their open data and a published decision."""
    await _session_with_two_votes(demo_council)
    await _json(demo_council, "/opendata/ua835/votings.json")
    await _published_decision(demo_council)
    return demo_council


class Watched:
    """A page and what went wrong on it: console errors, failed requests, error answers, uncaught errors.

    An error page's own status (404, 400) is what it must answer; Chromium logs it as «Failed to load
    resource» for the document itself, which is the one console error let through.
    """

    def __init__(self, page: Page, main_url: str, status: int) -> None:
        self.page = page
        self.problems: list[str] = []
        self._main = main_url
        self._status = status
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        own_status = message.location.get("url") == self._main and f"status of {self._status} " in message.text
        if not (self._status >= 400 and own_status):
            self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.url != self._main:
            self.problems.append(f"{response.status}: {response.url}")


@pytest.fixture
async def watch(browser: Browser) -> AsyncIterator[Any]:
    contexts: list[Any] = []

    async def open_(url: str, viewport: ViewportSize, status: int = 200) -> Watched:
        context = await browser.new_context(viewport=viewport, locale="uk-UA")
        contexts.append(context)
        page = await context.new_page()
        watched = Watched(page, url, status)
        response = await page.goto(url)
        assert response is not None and response.status == status, url
        await page.wait_for_load_state("load")
        return watched

    try:
        yield open_
    finally:
        for context in contexts:
            await context.close()


async def _fits(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(("path", "status", "name"), PORTAL, ids=[p[2] for p in PORTAL])
async def test_each_portal_page_loads_without_a_console_error_and_fits_a_phone(
    sitting: Demo, watch: Any, path: str, status: int, name: str
) -> None:
    url = sitting.server.url + path
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        watched = await watch(url, viewport, status)
        page = watched.page
        # the icon the page names was fetched and drawn (a broken one would be a failed request)
        assert await page.evaluate("document.querySelector('link[rel=icon]')?.href") == (
            f"{sitting.server.url}/static/favicon.svg"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"portal-{name}-{suffix}.png"), full_page=True)
        assert await _fits(page), f"{path} is wider than {viewport['width']} px"
        assert watched.problems == [], f"{path} ({suffix}): {watched.problems}"


@pytest.mark.parametrize("path", ["/display/c8-s45", "/live/c8-s45", "/display", "/live?lang=en"])
async def test_display_and_live_load_without_a_console_error(sitting: Demo, watch: Any, path: str) -> None:
    watched = await watch(sitting.server.url + path, PHONE if path.startswith("/live") else DESKTOP)
    await watched.page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
    assert watched.page.url.startswith(f"{sitting.server.url}/{path.strip('/').split('/')[0].split('?')[0]}/c8-s45")
    if "lang=en" in path:
        assert watched.page.url.endswith("?lang=en")
    assert watched.problems == [], f"{path}: {watched.problems}"


async def test_display_before_any_sitting_is_a_page_without_errors(browser: Browser, server: Any, watch: Any) -> None:
    watched = await watch(server.url + "/display", DESKTOP)
    assert await watched.page.inner_text("h1") == "Засідань ще немає"
    await watched.page.screenshot(path=str(ARTIFACTS / "portal-no-sitting.png"))
    assert watched.problems == []


@pytest.mark.parametrize(
    "path", ["/sessions", "/decisions", "/deputies", "/sessions/nope", "/sessions?page=9", "/search?q=зміни+бюджету"]
)
async def test_the_new_portal_pages_have_no_serious_accessibility_violation(
    sitting: Demo, watch: Any, axe_source: str, path: str
) -> None:
    watched = await watch(
        sitting.server.url + path, DESKTOP, 404 if "nope" in path else 400 if "page=9" in path else 200
    )
    assert await serious_violations(watched.page, axe_source) == []


async def test_the_sittings_index_pages_on_by_its_links(demo_council: Demo, watch: Any) -> None:
    demo = demo_council
    for n in range(1, 45):  # 45 sittings in all: three pages of 20
        body = {"id": f"s{n}", "type": "session.schedule", "number": n, "convocation": 8}
        body |= {"date": f"2025-{(n - 1) // 28 + 1:02d}-{(n - 1) % 28 + 1:02d}", "title": f"{n} сесія"}
        response = await demo.client.post("/api/v1/sessions", json=body, headers=await demo.headers("secretary"))
        assert response.status_code in (200, 201), response.text
    watched = await watch(f"{demo.server.url}/sessions", PHONE)
    page = watched.page
    assert await page.inner_text(".paging p") == "Сторінка 1 з 3"
    await page.click("a[rel=next]")
    await page.wait_for_url("**/sessions?page=2")
    assert await page.inner_text(".paging p") == "Сторінка 2 з 3"
    assert await page.inner_text(".paging a[aria-current=page]") == "2"
    await page.screenshot(path=str(ARTIFACTS / "portal-sessions-page-2-phone.png"), full_page=True)
    assert await _fits(page)
    await page.click(".paging a:text-is('3')")
    await page.wait_for_url("**/sessions?page=3")
    assert await page.locator("table.index tbody tr").count() == 5 and await page.locator("a[rel=next]").count() == 0
    assert watched.problems == []


async def test_a_roll_call_opens_under_its_vote_grouped_by_faction(sitting: Demo, watch: Any) -> None:
    watched = await watch(f"{sitting.server.url}/sessions/c8-s45", PHONE)
    page = watched.page
    table = page.locator(".vote table.roll-call").first
    assert not await table.is_visible()  # folded: a sitting of a hundred votes stays readable
    await page.locator(".vote summary").first.click()
    await table.wait_for(state="visible", timeout=WAIT_MS)
    groups = await table.locator("tr.group th").all_inner_texts()
    assert groups == ["Громада", "Розвиток", "Рідне місто", "Народний контроль", "Позафракційні"]
    await page.locator(".vote").first.screenshot(path=str(ARTIFACTS / "portal-session-roll-call-phone.png"))
    assert await _fits(page) and watched.problems == []


async def test_the_minutes_of_a_sitting_not_yet_held_are_a_short_page_in_the_minutes_style(
    demo_council: Demo, watch: Any
) -> None:
    url = f"{demo_council.server.url}/sessions/c8-s45/minutes"  # the demo's sitting is only scheduled
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        watched = await watch(url, viewport)
        page = watched.page
        assert (await page.inner_text("h1")).split("\n")[0] == "ПРОТОКОЛУ ЩЕ НЕМАЄ"
        # the minutes' own look: their serif type, the notice centred under the masthead
        assert "Serif" in await page.evaluate("getComputedStyle(document.body).fontFamily")
        assert await page.evaluate("getComputedStyle(document.querySelector('.not-held')).textAlign") == "center"
        assert "ще не відбулося" in await page.inner_text(".not-held")
        assert await page.locator(".attendance, .agenda, .signatures").count() == 0
        await page.screenshot(path=str(ARTIFACTS / f"minutes-not-held-{suffix}.png"), full_page=True)
        assert await _fits(page) and watched.problems == [], watched.problems


async def test_votes_on_the_agenda_open_their_roll_call_apart_from_the_items_on_a_phone(
    demo_council: Demo, watch: Any
) -> None:
    await sitting_with_agenda_votes(demo_council)
    watched = await watch(f"{demo_council.server.url}/sessions/c8-s45", PHONE)
    page = watched.page
    changes = page.locator("section[aria-labelledby=agenda-changes]")
    assert await changes.locator("h3").all_inner_texts() == [
        "Голосування «Про включення до порядку денного питання „Про продаж нежитлового приміщення на вулиці Миру, 3“»:"
        " питання не включено до порядку денного",
        "Голосування «Про включення до порядку денного питання „Про перейменування вулиці Садової“»:"
        " питання включено до порядку денного",
    ]
    table = changes.locator("table.roll-call").first
    assert not await table.is_visible()
    await changes.locator("summary").first.click()
    await table.wait_for(state="visible", timeout=WAIT_MS)
    await page.click("#vote-v2 a[href='#item-i6']")  # the adopted proposal leads to the item it became
    await page.wait_for_url("**#item-i6")
    assert await page.locator("#item-i6").is_visible()
    await page.screenshot(path=str(ARTIFACTS / "portal-session-agenda-changes-phone.png"), full_page=True)
    assert await _fits(page) and watched.problems == [], watched.problems


@pytest.mark.parametrize("path", ["/tablet", "/console", "/broadcast", "/sign"])
async def test_the_signed_in_pages_load_without_a_console_error_before_anyone_signs_in(
    sitting: Demo, watch: Any, path: str
) -> None:
    """No 401 in the console from a page asking to resume a sign-in that does not exist."""
    watched = await watch(sitting.server.url + path, DESKTOP)
    await watched.page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    await watched.page.wait_for_load_state("networkidle")
    assert watched.problems == [], f"{path}: {watched.problems}"
