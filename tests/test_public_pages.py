"""The public pages in headless Chromium: the chamber display (/display/{session}) and the live page
(/live/{session}), following the demo council's session over Server-Sent Events without signing in.

Every page opened here is checked for uncaught errors, for Content-Security-Policy violations and for
the strict policy header on its response.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from browser_support import Browser, CuttableLink, Page
from conftest import Demo
from playwright.async_api import Request, ViewportSize, expect

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SESSION = "c8-s45"
QUORUM = [f"deputy{i:02d}" for i in range(1, 19)]  # 18 of 34: just over half
PROJECTOR: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
MARKS = {"for": "✓ За", "against": "✗ Проти", "abstain": "○ Утр.", "not_voted": "— Не гол.", "absent": "· Відс."}

OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(browser: Browser, demo_council: Demo) -> AsyncIterator[OpenPage]:
    """Open a public page in its own browser context; at the end, no page may have thrown or broken the CSP."""
    contexts: list[Any] = []
    errors: list[Exception] = []
    violations: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(message.text)

    async def open_(
        path: str, viewport: ViewportSize, *, base: str | None = None, connected: bool = True, **options: Any
    ) -> Page:
        context = await browser.new_context(viewport=viewport, locale="uk-UA", **options)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(error))
        page.on("console", on_console)
        response = await page.goto((base or demo_council.server.url) + path)
        assert response is not None and response.status == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
        if connected:
            await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
        return page

    try:
        yield open_
    finally:
        for context in contexts:
            await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"


async def _screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


async def _open_with_quorum(demo: Demo, item: str) -> None:
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in QUORUM))
    await demo.ok("chair", "item.start", item=item)


async def _open_vote(demo: Demo, item: str, subject: str) -> None:
    await demo.ok("chair", "vote.open", item=item, subject=subject, rule="majority_of_composition", seconds=120)


async def _fits(page: Page) -> dict[str, int]:
    size: dict[str, int] = await page.evaluate(
        "({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight,"
        " vw: innerWidth, vh: innerHeight})"
    )
    return size


HIDDEN = "Результати — після завершення"


async def test_the_display_follows_a_whole_vote_live_and_shows_the_roll_call_by_faction(
    open_page: OpenPage, demo_council: Demo
) -> None:
    demo = demo_council
    page = await open_page(f"/display/{SESSION}", PROJECTOR)
    await expect(page.locator("#quorum")).to_have_text("Засідання ще не відкрито", timeout=WAIT_MS)
    await expect(page.locator("#council")).to_have_text("Вознесенська міська рада")

    await _open_with_quorum(demo, "i2")
    await expect(page.locator("#quorum")).to_have_text("Кворум є", timeout=WAIT_MS)
    await expect(page.locator("#registration")).to_have_text(
        "Зареєстровано 18 депутатів з 34; для кворуму потрібно 18 "
        "(ст. 46 Закону України «Про місцеве самоврядування в Україні»)"
    )
    await expect(page.locator("#item")).to_have_text(
        "2. Про внесення змін до міського бюджету на 2026 рік", timeout=WAIT_MS
    )
    await _screenshot(page, "display-item")

    await _open_vote(demo, "i2", "в цілому")
    await expect(page.locator("#vote-heading")).to_have_text("Голосування: в цілому", timeout=WAIT_MS)
    # a new council's votes are sealed ("hidden"): the board says the vote is under way, not how many voted
    await expect(page.locator("#voted")).to_have_text(HIDDEN, timeout=WAIT_MS)
    clock = page.locator("#vote-clock")
    first = await clock.text_content() or ""
    assert re.fullmatch(r"[12]:\d\d", first), first
    await expect(clock).not_to_have_text(first, timeout=WAIT_MS)  # it counts down
    later = await clock.text_content() or ""
    assert later < first, (first, later)

    await demo.ok("deputy01", "ballot.cast", vote="v1", choice="for")
    await demo.ok("deputy02", "ballot.cast", vote="v1", choice="for")
    await demo.ok("deputy04", "ballot.cast", vote="v1", choice="against")
    await demo.ok("deputy04", "ballot.cast", vote="v1", choice="against")  # a repeat is not a new voter
    await expect(page.locator("#voted")).to_have_text(HIDDEN)
    # While the vote is open nobody's choice is on the screen.
    assert await page.locator(".cell").count() == 0
    assert await page.locator("#results-panel").is_hidden()
    assert "Проти" not in (await page.text_content("main") or "")
    await _screenshot(page, "display-vote-open")

    await demo.ok("chair", "vote.close", vote="v1")
    results = page.locator("#results-panel")
    await results.wait_for(state="visible", timeout=WAIT_MS)
    assert await page.locator("#vote-panel").is_hidden()
    tally = (await demo.state())["state"]["votes"][0]["tally"]
    assert (tally["for"], tally["against"], tally["abstain"], tally["not_voted"], tally["absent"]) == (2, 1, 0, 15, 16)
    for line in ("for", "against", "abstain", "not_voted", "absent"):
        assert await page.text_content(f"#totals [data-line={line}] .count") == str(tally[line])
    await expect(page.locator("#totals [data-line=not_voted]")).to_contain_text("Не голосували")
    await expect(page.locator("#outcome")).to_have_text("Рішення не прийнято (потрібно 18: більшість від складу ради)")

    cells = page.locator("#roll-call .cell")
    assert await cells.count() == 34  # the 34 deputies: the mayor took no part, so has no line
    council = (await demo.client.get("/api/v1/council")).json()
    groups = await page.eval_on_selector_all(
        "#roll-call section",
        """sections => sections.map(s => [
            s.querySelector('h3').textContent,
            [...s.querySelectorAll('.cell')].map(c =>
                [c.dataset.member, c.dataset.choice, c.querySelector('.mark').textContent]),
        ])""",
    )
    headings = [heading for heading, _ in groups]
    # Factions in the council's order, no faction last; the mayor, not taking part, has no group.
    assert headings == ["Громада", "Розвиток", "Рідне місто", "Народний контроль", "Позафракційні"]
    by_heading = {heading: {member for member, _, _ in members} for heading, members in groups}
    for deputy in council["deputies"]:
        if deputy["mayor"]:
            assert all(deputy["id"] not in members for members in by_heading.values())
            continue
        assert deputy["id"] in by_heading[deputy["faction"] or "Позафракційні"], deputy
    roll_call = (await demo.state())["state"]["votes"][0]["roll_call"]
    for _, members in groups:
        for member, choice, mark in members:
            assert choice == roll_call[member] and mark == MARKS[choice], (member, choice, mark)
    against = page.locator("#roll-call .cell[data-member=d04]")
    await expect(against).to_have_text(re.compile(r"Сергій Шевчук\s*✗ Проти"))
    await expect(page.locator("#roll-call .cell[data-member=d01] .mark")).to_have_text("✓ За")
    assert await page.locator("#roll-call .cell[data-member=mayor]").count() == 0
    size = await _fits(page)
    assert size["w"] <= size["vw"] and size["h"] <= size["vh"], f"the results do not fit the projector: {size}"
    cut_short = await page.eval_on_selector_all(
        "#roll-call .name", "names => names.filter(n => n.scrollWidth > n.clientWidth).map(n => n.textContent)"
    )
    assert not cut_short, f"names cut short on the projector: {cut_short}"
    await _screenshot(page, "display-results")


async def test_the_display_shows_the_speaker_with_a_countdown_and_conflicts_on_the_current_item(
    open_page: OpenPage, demo_council: Demo
) -> None:
    demo = demo_council
    page = await open_page(f"/display/{SESSION}", PROJECTOR)
    await _open_with_quorum(demo, "i3")
    assert await page.locator("#speaker-panel").is_hidden()
    await demo.ok("deputy03", "speaker.request")
    await demo.ok("chair", "speaker.grant", deputy="d03", seconds=180)
    await demo.ok("deputy07", "conflict.declare", item="i3", reason="Член наглядової ради")
    await expect(page.locator("#speaker-name")).to_have_text("Ірина Мельник", timeout=WAIT_MS)
    await expect(page.locator("#speaker-clock")).to_have_text(re.compile(r"^(3:00|2:[0-5]\d)$"))
    await expect(page.locator("#conflicts li")).to_have_text(["Тетяна Лисенко"], timeout=WAIT_MS)
    await _screenshot(page, "display-speaker")

    await demo.ok("chair", "speaker.finish")
    await expect(page.locator("#speaker-panel")).to_be_hidden(timeout=WAIT_MS)
    await demo.ok("chair", "item.finish", item="i3")
    await demo.ok("chair", "item.start", item="i4")
    await expect(page.locator("#item")).to_contain_text("4. Про надання дозволу", timeout=WAIT_MS)
    await expect(page.locator("#conflicts-panel")).to_be_hidden()  # the conflict was declared on item 3


async def test_the_live_page_on_a_phone_shows_the_agenda_and_the_results_and_switches_to_english(
    open_page: OpenPage, demo_council: Demo
) -> None:
    demo = demo_council
    await demo.results("counts")  # sealed, the screens counting who has voted
    page = await open_page(f"/live/{SESSION}", PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    placeholder = page.locator("#video #video-placeholder")
    await expect(placeholder).to_be_visible()
    await expect(placeholder).to_have_text("Трансляція ще не розпочалася")
    await expect(page.locator("#no-vote")).to_have_text("Зараз голосування немає")

    await _open_with_quorum(demo, "i3")
    await demo.ok("chair", "presence.register")  # the mayor takes part: a line in the roll call
    current = page.locator("#agenda li[aria-current=true]")
    await expect(current).to_have_count(1, timeout=WAIT_MS)
    await expect(current).to_have_attribute("data-item", "i3")
    await expect(current).to_contain_text("розглядається зараз")
    await expect(page.locator("#session-state")).to_contain_text("Кворум є", timeout=WAIT_MS)

    await _open_vote(demo, "i3", "за основу")
    await expect(page.locator("#vote-subject")).to_have_text("Голосування: за основу", timeout=WAIT_MS)
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^Залишилось [12]:\d\d$"))
    await demo.ok("deputy01", "ballot.cast", vote="v1", choice="for")
    await demo.ok("deputy02", "ballot.cast", vote="v1", choice="against")
    await demo.ok("deputy03", "ballot.cast", vote="v1", choice="abstain")
    await expect(page.locator("#voted")).to_have_text("Голосування триває: проголосували 3", timeout=WAIT_MS)
    assert await page.locator("#roll-body tr").count() == 0
    await demo.ok("chair", "vote.close", vote="v1")

    await page.locator("#vote-results").wait_for(state="visible", timeout=WAIT_MS)
    await expect(page.locator("#outcome")).to_have_text("Рішення не прийнято (потрібно 18: більшість від складу ради)")
    assert await page.locator("#roll-call thead th[scope=col]").count() == 3
    assert await page.locator("#roll-body tr").count() == 35
    assert await page.locator("#roll-body th[scope=row]").count() == 35
    against = page.locator("#roll-body tr[data-member=d02]")
    await expect(against.locator("th")).to_have_text("Андрій КовальчукГромада")
    await expect(against.locator("td.choice")).to_have_text("проти")
    await expect(against.locator("th .faction-inline")).to_be_visible()  # on a phone the faction sits under the name
    await expect(page.locator("#roll-body tr[data-member=mayor] th .faction-inline")).to_have_text("Міський голова")
    # Ірина Мельник: the line agrees with her recorded gender
    await expect(page.locator("#roll-body tr[data-member=d03] td.choice")).to_have_text("утрималася")
    size = await _fits(page)
    assert size["w"] <= size["vw"], f"the page scrolls sideways on a phone: {size}"
    await _screenshot(page, "live-phone", full_page=True)

    await page.click("#lang")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(placeholder).to_have_text("The broadcast has not started")
    await expect(page.locator("#col-choice")).to_have_text("Vote")
    await expect(page.locator("#roll-body tr[data-member=d02] td.choice")).to_have_text("against")
    await expect(page.locator("#outcome")).to_have_text(
        "Not adopted (18 needed: a majority of the council's composition)"
    )
    await expect(current).to_contain_text("under consideration now")
    await expect(page.locator("#lang")).to_have_text("Українська")
    await page.reload()  # the choice is remembered
    await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
    await expect(page.locator("#video-placeholder")).to_have_text("The broadcast has not started")
    await expect(page.locator("#results-subject")).to_have_text("Result of the vote: за основу", timeout=WAIT_MS)
    await _screenshot(page, "live-phone-en", full_page=True)

    desktop = await open_page(f"/live/{SESSION}", DESKTOP)
    await expect(desktop.locator("#roll-body tr")).to_have_count(35, timeout=WAIT_MS)
    video = await desktop.locator(".video-panel").bounding_box()
    agenda = await desktop.locator(".agenda-panel").bounding_box()
    assert video and agenda and agenda["x"] > video["x"] + video["width"], "two columns on a desktop"
    size = await _fits(desktop)
    assert size["w"] <= size["vw"], size
    await _screenshot(desktop, "live-desktop", full_page=True)


async def test_the_live_page_resumes_after_the_stream_drops_and_shows_the_final_result(
    open_page: OpenPage, demo_council: Demo
) -> None:
    """The browser reaches the server through a TCP proxy the test can cut, as a dropped network
    would. (Chromium's offline emulation, ``context.set_offline``, does not close an EventSource that
    is already open, so it cannot drop the stream.) While the link is cut the page shows that it is
    reconnecting; ballots are cast and the vote is closed through the API; once the link is back,
    EventSource reconnects by itself with ``Last-Event-ID`` = the last seq the page had, and the page
    catches up to the final result from the stream, without loading a new snapshot."""
    demo = demo_council
    await demo.results("counts")  # sealed, the screens counting who has voted
    async with CuttableLink(demo.server.url) as link:
        page = await open_page(f"/live/{SESSION}", DESKTOP, base=link.url)
        streams: list[Request] = []
        snapshots: list[Request] = []
        page.on("request", lambda r: streams.append(r) if "/stream" in r.url else None)
        page.on("request", lambda r: snapshots.append(r) if r.url.endswith(f"/api/v1/sessions/{SESSION}") else None)

        await _open_with_quorum(demo, "i1")
        await _open_vote(demo, "i1", "в цілому")
        await expect(page.locator("#voted")).to_have_text("Голосування триває: проголосували 0", timeout=WAIT_MS)
        seen = await demo.head()

        link.cut()
        await expect(page.locator("#connection")).to_have_attribute("data-status", "closed", timeout=WAIT_MS)
        await expect(page.locator("#connection")).to_have_text("Немає зв'язку — відновлюємо…")
        for n, choice in ((1, "for"), (2, "for"), (3, "against"), (4, "abstain")):
            await demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice=choice)
        await demo.ok("chair", "vote.close", vote="v1")
        assert (
            await page.locator("#voted").text_content() == "Голосування триває: проголосували 0"
        )  # nothing got through

        link.restore()
        await page.locator("#vote-results").wait_for(state="visible", timeout=WAIT_MS)
        await expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
        for line, count in (("for", 2), ("against", 1), ("abstain", 1), ("not_voted", 14), ("absent", 16)):
            await expect(page.locator(f"#totals [data-line={line}] .count")).to_have_text(str(count))
        await expect(page.locator("#roll-body tr[data-member=d03] td.choice")).to_have_text("проти")

        assert streams, "the stream was opened again"
        reconnect = await streams[-1].all_headers()
        assert reconnect.get("last-event-id") == str(seen), reconnect
        assert not snapshots, "the page resumed from the stream, not from a new snapshot"


async def test_a_page_opened_during_a_vote_counts_on_from_the_snapshot(open_page: OpenPage, demo_council: Demo) -> None:
    """The snapshot of an open vote holds only how many voted; the page learns who from the log, so
    a new voter after the snapshot raises the count at once and a change of mind does not."""
    demo = demo_council
    await demo.results("counts")  # sealed, the screens counting who has voted
    await _open_with_quorum(demo, "i2")
    await _open_vote(demo, "i2", "за основу")
    for n in (1, 2, 3):
        await demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for")
    page = await open_page(f"/live/{SESSION}", PHONE)
    await expect(page.locator("#voted")).to_have_text("Голосування триває: проголосували 3", timeout=WAIT_MS)
    await demo.ok("deputy02", "ballot.cast", vote="v1", choice="against")  # a change of mind
    await demo.ok("deputy04", "ballot.cast", vote="v1", choice="for")  # a new voter
    await expect(page.locator("#voted")).to_have_text("Голосування триває: проголосували 4", timeout=WAIT_MS)
    await demo.ok("deputy05", "ballot.cast", vote="v1", choice="abstain")
    await expect(page.locator("#voted")).to_have_text("Голосування триває: проголосували 5", timeout=WAIT_MS)
    assert (await demo.state())["state"]["votes"][0]["voted"] == 5


async def test_the_display_in_english_and_both_pages_under_the_strict_policy(
    open_page: OpenPage, demo_council: Demo
) -> None:
    demo = demo_council
    display = await open_page(f"/display/{SESSION}?lang=en", PROJECTOR)
    live = await open_page(f"/live/{SESSION}", PHONE)
    assert await display.evaluate("document.documentElement.lang") == "en"
    assert await live.evaluate("document.documentElement.lang") == "uk"
    await expect(display.locator("#quorum")).to_have_text("The meeting has not opened yet")
    # The stylesheets apply under the policy: the display is light on dark, the live page dark on light.
    assert await display.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(11, 14, 20)"
    assert await live.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(246, 247, 249)"

    await _open_with_quorum(demo, "i5")
    await demo.ok("chair", "presence.register")  # the mayor takes part: first in the roll call
    await _open_vote(demo, "i5", "в цілому")
    await expect(display.locator("#vote-heading")).to_have_text("Vote: в цілому", timeout=WAIT_MS)
    await demo.ok("chair", "vote.cancel", vote="v1", reason="помилка в проєкті")
    await expect(display.locator("#cancelled")).to_have_text(
        "The vote “в цілому” was cancelled: помилка в проєкті", timeout=WAIT_MS
    )
    await expect(live.locator("#cancelled")).to_have_text(
        "Голосування «в цілому» скасовано: помилка в проєкті", timeout=WAIT_MS
    )
    await _open_vote(demo, "i5", "в цілому")
    await asyncio.gather(*(demo.ok(u, "ballot.cast", vote="v2", choice="for") for u in QUORUM))
    await demo.ok("chair", "vote.close", vote="v2")
    await expect(display.locator("#outcome")).to_have_text(
        "Adopted (18 needed: a majority of the council's composition)", timeout=WAIT_MS
    )
    await expect(display.locator("#roll-call .cell[data-member=d01] .mark")).to_have_text("✓ For")
    await expect(display.locator("#roll-call h3").first).to_have_text("Mayor")
    await expect(live.locator("#outcome")).to_have_text(
        "Рішення прийнято (потрібно 18: більшість від складу ради)", timeout=WAIT_MS
    )
    await demo.ok("chair", "item.finish", item="i5")
    await demo.ok("chair", "session.close")
    await expect(live.locator("#session-state")).to_have_text("Засідання закрито", timeout=WAIT_MS)

    missing = await open_page("/display/no-such-session", PROJECTOR, connected=False)
    await expect(missing.locator("#item")).to_have_text("Засідання не знайдено", timeout=WAIT_MS)
    await expect(missing.locator("#connection")).to_have_attribute("data-status", "closed")


async def test_the_display_says_its_link_is_gone_within_5_seconds_of_a_silent_cut(
    open_page: Any, demo_council: Demo
) -> None:
    """A link that stops passing anything without closing (a dead switch, a frozen Wi-Fi): the feed's
    heartbeats stop, and the display turns red within 5 s instead of trusting a socket that is open."""
    demo = demo_council
    await demo.results("counts")  # sealed, the screens counting who has voted
    async with CuttableLink(demo.server.url) as link:
        page = await open_page(f"/display/{SESSION}", PROJECTOR, base=link.url)
        await expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
        link.freeze()
        frozen = asyncio.get_running_loop().time()
        await expect(page.locator("#connection")).to_have_attribute("data-status", "closed", timeout=WAIT_MS)
        assert asyncio.get_running_loop().time() - frozen < 6
        await expect(page.locator("#connection")).to_have_text("Немає зв'язку — відновлюємо…")
        link.thaw()
        await demo.ok("chair", "session.open")
        await expect(page.locator("#connection")).to_have_attribute("data-status", "open", timeout=WAIT_MS)
        await expect(page.locator("#quorum")).to_have_text("Кворуму немає", timeout=WAIT_MS)


async def test_the_whole_roll_call_fits_the_projector_with_the_mayor_and_a_conflict_on_screen(
    open_page: Any, demo_council: Demo
) -> None:
    """The hall reads every name from the back rows: no scrolling on a projector, even with every line
    of the roll call (34 deputies and the mayor) and a conflict-of-interest notice on screen."""
    demo = demo_council
    page = await open_page(f"/display/{SESSION}", PROJECTOR)
    await _open_with_quorum(demo, "i2")
    await demo.ok("chair", "presence.register")  # the mayor takes part: 35 lines
    await demo.ok("deputy33", "presence.register")
    await demo.ok("deputy33", "conflict.declare", item="i2", reason="родинні зв'язки")
    await _open_vote(demo, "i2", "за основу та в цілому")
    await demo.ok("deputy01", "ballot.cast", vote="v1", choice="for")
    await demo.ok("chair", "vote.close", vote="v1")
    await page.locator("#results-panel").wait_for(state="visible", timeout=WAIT_MS)
    assert await page.locator("#roll-call .cell").count() == 35
    assert await page.locator("#conflicts-panel").is_visible()
    await _screenshot(page, "display-results-mayor-and-conflict")
    size = await _fits(page)
    assert size["w"] <= size["vw"] and size["h"] <= size["vh"], f"the results do not fit the projector: {size}"
    hidden = await page.eval_on_selector_all(
        "#roll-call .cell", "cells => cells.filter(c => c.getBoundingClientRect().bottom > innerHeight).length"
    )
    assert hidden == 0
