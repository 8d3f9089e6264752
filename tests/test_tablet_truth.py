"""What the tablet says about a ballot is the log's, never a guess (issue 14, item 2), in Chromium against
the real server: a ballot changed on another device, a sealed one cast elsewhere, the council's rule that
the first ballot is final, and «надсилається…» for as long as the server has not committed it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from browser_support import Browser, Page, sign_in
from conftest import Demo

from session_server.store.events import LOCK_HEAD

WAIT_MS = 15_000
PRESENT = [f"deputy{i:02d}" for i in range(2, 20)]


@pytest.fixture
async def tablet(browser: Browser, demo_council: Demo) -> AsyncIterator[Page]:
    """deputy01's tablet (the demo council: unsigned ballots), signed in, registered, item i1 under way."""
    demo = demo_council
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="uk-UA")
    page = await context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    await page.goto(f"{demo.server.url}/tablet")
    await sign_in(page, "deputy01", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in ["deputy01", *PRESENT]))
    await demo.ok("chair", "item.start", item="i1")
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def _open(demo: Demo, page: Page, subject: str) -> str:
    opened = await demo.ok(
        "chair", "vote.open", item="i1", subject=subject, rule="majority_of_composition", seconds=120
    )
    await page.wait_for_selector(f"#vote-title:has-text('{subject}')", timeout=WAIT_MS)
    return str(opened["events"][0]["payload"]["vote"])


async def _pressed(page: Page) -> list[str]:
    return [
        str(await b.get_attribute("data-choice")) for b in await page.query_selector_all(".choice[aria-pressed=true]")
    ]


async def test_a_ballot_changed_on_another_device_is_what_the_tablet_says(tablet: Page, demo_council: Demo) -> None:
    page, demo = tablet, demo_council
    await demo.results("live")
    vote = await _open(demo, page, "перше")
    await page.click(".choice[data-choice=for]")
    await page.wait_for_selector("#ballot-status[data-state=counted]:has-text('«За» зараховано')", timeout=WAIT_MS)
    await demo.ok("deputy01", "ballot.cast", vote=vote, choice="against")  # the same deputy, another device
    await page.wait_for_selector("#ballot-status:has-text('«Проти» зараховано')", timeout=WAIT_MS)
    assert await _pressed(page) == ["against"]  # one choice on the buttons and in the line: the log's
    await demo.ok("chair", "vote.close", vote=vote)
    await page.wait_for_selector("#my-line:has-text('проти')", timeout=WAIT_MS)

    # Sealed: the tablet knows the choice it sent, not one sent elsewhere — it says the ballot counts, not how.
    await demo.results("hidden")
    vote = await _open(demo, page, "друге")
    await page.click(".choice[data-choice=for]")
    await page.wait_for_selector("#ballot-status[data-state=counted]:has-text('«За» зараховано')", timeout=WAIT_MS)
    await demo.ok("deputy01", "ballot.cast", vote=vote, choice="against")
    elsewhere = page.locator("#ballot-status[data-state=counted]:has-text('з іншого пристрою')")
    await elsewhere.wait_for(timeout=WAIT_MS)
    text = await elsewhere.text_content() or ""
    assert text.startswith("Ваш голос зараховано: запис журналу №"), text
    assert await _pressed(page) == []  # no choice shown that may not be the one counted
    await demo.ok("chair", "vote.close", vote=vote)
    await page.wait_for_selector("#my-line:has-text('проти')", timeout=WAIT_MS)


async def test_the_first_ballot_final_rule_is_said_and_kept(tablet: Page, demo_council: Demo) -> None:
    page, demo = tablet, demo_council
    configured = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "final", "type": "council.configure", "first_ballot_final": True},
        headers=await demo.headers("admin"),
    )
    assert configured.status_code == 200, configured.text
    await _open(demo, page, "остаточне")
    rule = await page.text_content("#ballot-rule") or ""
    assert rule.startswith("За правилами ради перший голос остаточний: змінити його не можна."), rule
    await page.click(".choice[data-choice=abstain]")
    await page.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
    for choice in ("for", "against", "abstain"):  # nothing left to tap: the ballot cannot change
        assert await page.is_disabled(f".choice[data-choice={choice}]")


async def test_a_ballot_shows_as_sending_until_the_server_has_committed_it(tablet: Page, demo_council: Demo) -> None:
    page, demo = tablet, demo_council
    await _open(demo, page, "надсилання")
    pool = demo.server.kvorum.pool
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.fetchrow(LOCK_HEAD, "session:c8-s45")  # the sitting's head row held: no commit can finish
        await page.click(".choice[data-choice=for]")
        sending = page.locator("#ballot-status[data-state=sending]")
        await sending.wait_for(timeout=WAIT_MS)
        assert await sending.text_content() == "Голос «За» надсилається…"
        assert await page.get_attribute(".choice[data-choice=for]", "data-pending") == "true"  # lit, not counted
        assert (await demo.state())["state"]["votes"][-1]["voted"] == 0
        await transaction.rollback()
    await page.wait_for_selector("#ballot-status[data-state=counted]:has-text('«За» зараховано')", timeout=WAIT_MS)
