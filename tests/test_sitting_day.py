"""A whole sitting day in Chromium, its hours compressed by configuration, not by luck.

The access token lives 4 seconds, so over the test's twenty votes it expires again and again on
every signed-in page: the chair's console, three deputies' tablets (signed ballots, each with a
DevTools virtual authenticator) and the operator's broadcast page; the chamber display and a
resident's live page follow beside them. Every action goes through the screens as people make it
and must succeed without anyone reloading a page; one tablet loses its network mid-vote and must
say so within 5 seconds, then deliver its ballot. Screenshots of each screen in each state (before
the opening, registration, a vote open, its result, offline, closed) land in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Browser, Page, Pages, enroll, sign_in, signed_ballots_at_localhost
from conftest import Demo, eventually

from session_server.config import Settings

TOKEN_SECONDS = 4  # the access token's whole life; a real council uses 600
VOTES_PER_ITEM = 4
ITEMS = ["i1", "i2", "i3", "i4", "i5"]  # 5 × 4 = 20 votes
WAIT_MS = 20_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TABLETS = ["d01", "d02", "d03"]  # Олена Бондар, Андрій Ковальчук, Ірина Мельник
OTHERS = [f"deputy{i:02d}" for i in range(4, 19)]  # 15 more registered by API: 18 of 34 is a quorum
CHOICES = ["for", "against", "abstain"]
LABEL = {"for": "За", "against": "Проти", "abstain": "Утримався"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0, access_token_seconds=TOKEN_SECONDS
    )


class Screen:
    """One page in a browser context of its own, watched: its refreshes, its reloads, its errors."""

    def __init__(self, name: str, page: Page) -> None:
        self.name = name
        self.page = page
        self.refreshes = 0
        self.loads = 0
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("load", self._load)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _request(self, request: Any) -> None:
        if request.url.endswith("/api/v1/auth/refresh"):
            self.refreshes += 1

    def _load(self, _: Any) -> None:
        self.loads += 1

    async def shot(self, state: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"day-{self.name}-{state}.png"))


class Day(Pages):
    """The day's screens, by name."""

    def __init__(self, browser: Browser) -> None:
        super().__init__(browser)
        self.screens: dict[str, Screen] = {}

    async def screen(self, name: str, width: int, height: int, *, authenticator: bool = False) -> Screen:
        screen = self.screens[name] = Screen(name, await self.open(width, height, authenticator=authenticator))
        return screen

    async def shots(self, state: str, *names: str) -> None:
        for name in names or self.screens:
            await self.screens[name].shot(state)


@pytest.fixture
async def day(browser: Browser, demo_council: Demo) -> AsyncIterator[Day]:
    async with Day(browser) as opened:
        yield opened


async def _next(console: Page, action: str) -> None:
    """Press the console's «Наступний крок» button for `action`."""
    await console.click(f"#next-actions [data-action={action}]", timeout=WAIT_MS)


async def _confirm(console: Page) -> None:
    await console.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)


@pytest.mark.timeout(600)
async def test_a_whole_sitting_day_on_one_sign_in_with_the_token_expiring_again_and_again(
    day: Day, demo_council: Demo
) -> None:
    demo = demo_council
    origin = await signed_ballots_at_localhost(demo)

    console = (await day.screen("console", 1440, 900)).page
    await console.goto(f"{origin}/console")
    await sign_in(console, "chair", "#next-actions [data-action=openSession]")
    display = (await day.screen("display", 1920, 1080)).page
    await display.goto(f"{origin}/display/c8-s45")
    live = (await day.screen("live", 390, 844)).page
    await live.goto(f"{origin}/live/c8-s45")
    broadcast = (await day.screen("broadcast", 1280, 800)).page
    await broadcast.goto(f"{origin}/broadcast?session=c8-s45")
    await sign_in(broadcast, "operator", "#desk:not([hidden])")
    tablets: dict[str, Page] = {}
    for member in TABLETS:
        page = (await day.screen(f"tablet-{member}", 1280, 800, authenticator=True)).page
        await enroll(page, demo, origin, member, wait_ms=WAIT_MS)
        await sign_in(page, f"deputy{member[1:]}", "#chamber:not([hidden])")
        tablets[member] = page
    for page in (console, display, *tablets.values()):
        await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
    started = time.monotonic()
    await day.shots("before-open")

    # The sitting opens; deputies register from their tablets.
    await _next(console, "openSession")
    await _confirm(console)
    await _next(console, "openRegistration")
    for page in tablets.values():
        await page.click("#register", timeout=WAIT_MS)
        await page.wait_for_selector("#registered-note:not([hidden])", timeout=WAIT_MS)
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in OTHERS))
    await console.wait_for_selector("#quorum-verdict[data-quorum=yes]", timeout=WAIT_MS)
    await day.shots("registration")
    await _next(console, "closeRegistration")
    await _confirm(console)

    # Twenty votes, four on each item; each tablet taps its choice and sees it counted.
    cast: dict[str, dict[str, str]] = {}
    number = 0
    for item in ITEMS:
        item_started = time.monotonic()
        refreshed = {name: screen.refreshes for name, screen in day.screens.items() if _signed_in(name)}
        await _next(console, "startItem")
        await console.wait_for_selector(f"#agenda li[data-item={item}][data-status=in_progress]", timeout=WAIT_MS)
        for _ in range(VOTES_PER_ITEM):
            number += 1
            subject = f"голосування {number}"
            await console.fill("#vote-form input[name=subject]", subject)
            await console.fill("#vote-form input[name=seconds]", "120")
            await console.click("#open-vote")
            vote = f"v{number}"
            cast[vote] = {}
            for index, (member, page) in enumerate(tablets.items()):
                choice = CHOICES[(number + index) % 3]
                await page.wait_for_selector(f"#vote-title:has-text('{subject}')", timeout=WAIT_MS)
                if number == 7 and member == "d03":
                    await _offline_ballot(day, page, choice)
                else:
                    await page.click(f".choice[data-choice={choice}]", timeout=WAIT_MS)
                    await page.wait_for_selector(
                        f"#ballot-status[data-state=counted]:has-text('«{_label(choice, member)}» зараховано')",
                        timeout=WAIT_MS,
                    )
                cast[vote][member] = choice
            await console.wait_for_selector("#voted:has-text('Проголосували: 3 із 18')", timeout=WAIT_MS)
            if number == 1:
                await day.shots("vote-open")
            await _next(console, "closeVote")
            await _confirm(console)  # closed before its 120 s are up: the console asks first
            await console.wait_for_selector(f"#vote-result h3:has-text('{subject}')", timeout=WAIT_MS)
            await display.wait_for_selector(f"#results-heading:has-text('{subject}')", timeout=WAIT_MS)
            await live.wait_for_selector(f"#results-subject:has-text('{subject}')", timeout=WAIT_MS)
            if number == 1:
                await day.shots("result")
        await _outlast_a_token(day, item_started, refreshed)  # however fast the tablets were
        await _next(console, "finishItem")
        await _confirm(console)
        await console.wait_for_selector(f"#agenda li[data-item={item}][data-status=done]", timeout=WAIT_MS)

    # The day ends: the sitting is closed from the console, and the operator's page still acts.
    await _next(console, "closeSession")
    await _confirm(console)
    for page in (console, display, live, *tablets.values()):
        await page.wait_for_selector("text=Засідання закрито", timeout=WAIT_MS)
    await broadcast.click("#make-key")
    await broadcast.wait_for_selector("#key-help:not([hidden])", timeout=WAIT_MS)
    await day.shots("closed")
    elapsed = time.monotonic() - started

    # What the log recorded is what the tablets tapped, vote by vote.
    state = (await demo.state())["state"]
    closed = [v for v in state["votes"] if v["status"] == "closed"]
    assert len(closed) == len(ITEMS) * VOTES_PER_ITEM == 20
    for vote in closed:
        assert {m: vote["roll_call"][m] for m in TABLETS} == cast[vote["id"]], vote["id"]
    assert state["status"] == "closed" and all(i["status"] == "done" for i in state["agenda"])

    # The token expired many times over on every signed-in page, and nobody reloaded anything.
    assert elapsed > 5 * TOKEN_SECONDS, f"the day took {elapsed:.0f} s: not five token lifetimes"
    for screen in day.screens.values():
        assert screen.loads == 1, f"{screen.name} was reloaded ({screen.loads} loads)"
        assert not screen.errors, f"uncaught errors on {screen.name}: {screen.errors}"
        if _signed_in(screen.name):
            assert screen.refreshes >= 5, f"{screen.name} refreshed its token {screen.refreshes} times"
            assert await screen.page.locator("#sign-in-again").count() == 0  # never asked to sign in again
    for page in (console, *tablets.values()):
        alerts = await page.eval_on_selector_all(
            ".panel-status[data-state=error]", "els => els.map(e => e.textContent)"
        )
        assert alerts == [], alerts


async def _outlast_a_token(day: Day, started: float, refreshed: dict[str, int]) -> None:
    """Wait until a token's whole life has passed since `started` and every signed-in screen has
    refreshed its token since it had `refreshed` times."""
    await eventually(
        lambda: (
            time.monotonic() - started > TOKEN_SECONDS
            and all(day.screens[name].refreshes > count for name, count in refreshed.items())
        ),
        "a token's whole life on every signed-in screen",
        seconds=3 * TOKEN_SECONDS,
    )


def _signed_in(screen: str) -> bool:
    return screen in ("console", "broadcast") or screen.startswith("tablet")


def _label(choice: str, member: str) -> str:
    """The choice's word as the tablet names it (the demo records Ірина Мельник as female)."""
    return "Утрималася" if choice == "abstain" and member in ("d01", "d03") else LABEL[choice]


async def _offline_ballot(day: Day, page: Page, choice: str) -> None:
    """The tablet's network drops: the light says so within 5 s, the tapped ballot waits, then counts."""
    context = page.context
    await context.set_offline(True)
    cut = time.monotonic()
    await page.wait_for_selector("#connection[data-status=closed]", timeout=WAIT_MS)
    assert time.monotonic() - cut < 5, "the connection light kept saying «На зв'язку» after the cut"
    await page.click(f".choice[data-choice={choice}]", timeout=WAIT_MS)
    await page.wait_for_selector("#ballot-status[data-state=retrying]", timeout=WAIT_MS)
    await day.screens["tablet-d03"].shot("offline")
    await context.set_offline(False)
    await page.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
    await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)


@pytest.mark.timeout(180)
async def test_a_sign_in_the_server_ends_mid_vote_is_renewed_on_the_spot_and_the_tapped_ballot_still_counts(
    day: Day, demo_council: Demo
) -> None:
    demo = demo_council
    screen = await day.screen("tablet-d05", 1280, 800)
    page = screen.page
    await page.goto(f"{demo.server.url}/tablet")
    await sign_in(page, "deputy05", "#chamber:not([hidden])")
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 19)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=120)
    await page.wait_for_selector("#choices:not([hidden])", timeout=WAIT_MS)

    # The tablet is offline when the deputy taps; meanwhile the administrator disables the account.
    await page.context.set_offline(True)
    await page.wait_for_selector("#connection[data-status=closed]", timeout=WAIT_MS)
    await page.click(".choice[data-choice=for]")
    await page.wait_for_selector("#ballot-status[data-state=retrying]", timeout=WAIT_MS)
    await demo.server.kvorum.accounts.set_disabled("deputy05", True)
    await page.context.set_offline(False)

    # The refresh is refused: the page says why in Ukrainian and asks to sign in again; the ballot waits.
    dialog = page.locator("#sign-in-again")
    await dialog.wait_for(timeout=WAIT_MS)
    assert (await dialog.locator(".why").text_content() or "").startswith("Ваш вхід завершено")
    assert await dialog.locator("input[name=username]").input_value() == "deputy05"
    await screen.shot("signed-out")
    state = (await demo.state())["state"]
    assert "d05" not in state["votes"][0]["voters"]

    await demo.server.kvorum.accounts.set_disabled("deputy05", False)
    await dialog.locator("input[name=password]").fill("demo")
    await dialog.locator("button[type=submit]").click()
    await dialog.wait_for(state="detached", timeout=WAIT_MS)
    await page.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    # one ballot, sealed until the close (a new council's default): the tablet alone says it was «За»
    assert [e["payload"]["deputy"] for e in events if e["type"] == "ballot.sealed"] == ["d05"]
    assert "«За» зараховано" in (await page.text_content("#ballot-status") or "")
    assert screen.loads == 1  # signed in again without a reload
