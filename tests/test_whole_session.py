"""A whole session through the four screens at once, in headless Chromium.

The chair steers from the console; three deputies, each in a browser context of their own with a
DevTools virtual authenticator, enroll their tablets from the secretary's links, register and cast
signed ballots; the chamber display and a resident's live page show the outcome and the roll call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser_support import Browser, Page, Pages, enroll, sign_in, signed_ballots_at_localhost
from conftest import Demo

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
VOTERS = {"d01": "for", "d02": "against", "d03": "abstain"}
OTHERS = [f"deputy{i:02d}" for i in range(4, 19)]  # 15 more registered by API: 18 of 34 is a quorum


@pytest.fixture
async def screens(browser: Browser, demo_council: Demo) -> AsyncIterator[Pages]:
    """Depends on the server so that the pages close before it stops (it waits for their sockets)."""
    async with Pages(browser) as opened:
        yield opened
    assert not opened.errors, f"uncaught errors in the pages: {opened.errors}"


async def _deputy(screens: Pages, demo: Demo, origin: str, member: str) -> Page:
    """A tablet enrolled from the secretary's link and signed in."""
    page = await screens.open(1280, 800, authenticator=True)
    await enroll(page, demo, origin, member, wait_ms=WAIT_MS)
    await sign_in(page, f"deputy{member[1:]}", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
    return page


async def test_a_whole_session_on_the_console_three_tablets_the_display_and_the_live_page(
    screens: Pages, demo_council: Demo
) -> None:
    demo = demo_council
    origin = await signed_ballots_at_localhost(demo)

    console = await screens.open(1440, 900)
    await console.goto(f"{origin}/console")
    await sign_in(console, "chair", "#desk:not([hidden])", connected=True, wait_ms=WAIT_MS)
    display = await screens.open(1920, 1080)
    await display.goto(f"{origin}/display/c8-s45")
    live = await screens.open(390, 844)
    await live.goto(f"{origin}/live/c8-s45")
    tablets = {member: await _deputy(screens, demo, origin, member) for member in VOTERS}

    await console.click("#open-session")
    await console.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
    await console.wait_for_selector("#open-registration:not([disabled])", timeout=WAIT_MS)
    await console.click("#open-registration")
    for page in tablets.values():
        await page.click("#register", timeout=WAIT_MS)
        await page.wait_for_selector("#registered-note:not([hidden])", timeout=WAIT_MS)
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in OTHERS))
    await console.wait_for_selector("#quorum-verdict:has-text('Кворум є')", timeout=WAIT_MS)
    await console.click("#agenda li:first-child button")
    await console.wait_for_selector("#open-vote:not([disabled])", timeout=WAIT_MS)
    await console.fill("#vote-form input[name=subject]", "в цілому")
    await console.click("#open-vote")

    for member, choice in VOTERS.items():
        page = tablets[member]
        await page.click(f".choice[data-choice={choice}]", timeout=WAIT_MS)
        await page.wait_for_selector("#ballot-status[data-state=counted]:has-text('запис журналу №')", timeout=WAIT_MS)
    await console.wait_for_selector("#voted:has-text('Проголосували: 3 із 18')", timeout=WAIT_MS)
    # sealed (a new council's default): the board says the vote is under way, not who or how many
    await display.wait_for_selector("#voted:has-text('Результати — після завершення')", timeout=WAIT_MS)

    await console.click("#close-vote")
    await console.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
    await console.wait_for_selector("#vote-result:has-text('Рішення не прийнято')", timeout=WAIT_MS)
    for page in (display, live):
        await page.wait_for_selector("text=/Рішення не прийнято/", timeout=WAIT_MS)
    display_text = await display.inner_text("body")
    assert "Андрій Ковальчук" in display_text  # d02, on the roll-call grid
    genders = {d["id"]: d["gender"] for d in (await demo.client.get("/api/v1/council")).json()["deputies"]}
    for member, choice in VOTERS.items():
        line = {"for": "за", "against": "проти", "abstain": "утримався"}[choice]
        if choice == "abstain" and genders[member] == "female":
            line = "утрималася"  # the line agrees with the deputy's recorded gender
        assert await tablets[member].text_content("#my-line") == f"Ваш голос у поіменному голосуванні: {line}."
    state = (await demo.client.get("/api/v1/sessions/c8-s45")).json()["state"]
    assert {m: state["votes"][0]["roll_call"][m] for m in VOTERS} == VOTERS
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    # three signed ballots, sealed while the vote was open and opened, each with its assertion, at the close
    [opened] = [e["payload"]["openings"] for e in events if e["type"] == "ballots.opened"]
    assert sum(1 for o in opened if "assertion" in o) == 3

    ARTIFACTS.mkdir(exist_ok=True)
    shots = {"console": console, "display": display, "live": live, "tablet": tablets["d01"]}
    for name, page in shots.items():
        await page.screenshot(path=str(ARTIFACTS / f"whole-session-{name}.png"))
