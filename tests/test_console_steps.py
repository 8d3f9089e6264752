"""The chair's irreversible or council-deciding steps on the console, in Chromium against the real server
(issue 14, items 3 and 8): cancelling a vote asks first and names what happens, closing the sitting with an
item still under consideration finishes it after saying so, and a new item proposed for the open sitting's
agenda joins it only when the council adopts its inclusion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from browser_support import Browser, Page, sign_in
from conftest import Demo, eventually

WAIT_MS = 15_000
DEPUTIES = [f"deputy{i:02d}" for i in range(1, 19)]


@pytest.fixture
async def chair(browser: Browser, demo_council: Demo) -> AsyncIterator[Page]:
    """The chair's console on an open sitting with a quorum registered."""
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in DEPUTIES))
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="uk-UA")
    page = await context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    await page.goto(f"{demo.server.url}/console")
    await sign_in(page, "chair", "#desk:not([hidden])", connected=True, wait_ms=WAIT_MS)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def test_cancelling_a_vote_asks_first_naming_the_vote_and_the_reason(chair: Page, demo_council: Demo) -> None:
    page, demo = chair, demo_council
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="за основу", rule="majority_of_composition", seconds=300)
    await page.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
    await page.fill("#cancel-form input[name=reason]", "помилка в тексті")
    await page.click("#cancel-vote")
    dialog = page.locator("dialog.confirm")
    await dialog.wait_for(timeout=WAIT_MS)
    assert "Голосування «за основу» буде скасовано з причиною «помилка в тексті»" in (await dialog.text_content() or "")
    await dialog.locator("[data-answer=no]").click()  # «Не робити»: nothing happens
    await dialog.wait_for(state="detached", timeout=WAIT_MS)
    assert (await demo.state())["state"]["votes"][-1]["status"] == "open"
    await page.click("#cancel-vote")
    await page.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
    await page.wait_for_selector("#vote-live[hidden]", state="attached", timeout=WAIT_MS)
    vote = (await demo.state())["state"]["votes"][-1]
    assert (vote["status"], vote["reason"]) == ("cancelled", "помилка в тексті")


async def test_closing_the_sitting_with_an_item_under_way_says_so_and_finishes_it(
    chair: Page, demo_council: Demo
) -> None:
    page, demo = chair, demo_council
    await demo.ok("chair", "item.start", item="i1")
    await page.wait_for_selector("#agenda li[data-item=i1][data-status=in_progress]", timeout=WAIT_MS)
    await page.click("#close-session")
    dialog = page.locator("dialog.confirm")
    await dialog.wait_for(timeout=WAIT_MS)
    said = await dialog.text_content() or ""
    assert "Питання 1 ще розглядається: його розгляд буде завершено, а засідання — закрито назавжди." in said
    await dialog.locator("[data-answer=yes]").click()
    await page.wait_for_selector("#agenda li[data-item=i1][data-status=done]", timeout=WAIT_MS)

    async def closed() -> bool:  # the item is finished first, then the sitting closed: two commands
        state = (await demo.state())["state"]
        return bool(state["status"] == "closed" and state["current_item"] is None)

    await eventually(closed, "the sitting closed")


async def test_a_proposed_item_joins_the_open_agenda_only_when_the_council_adopts_it(
    chair: Page, demo_council: Demo
) -> None:
    page, demo = chair, demo_council
    await page.click("#propose-title")
    assert await page.input_value("#propose-rule") == "majority_of_registered"  # the council's procedural rule
    await page.fill("#propose-form input[name=number]", "6")
    await page.fill("#propose-form textarea[name=title]", "Про звернення щодо освітлення вулиці Шевченка")
    await page.fill("#propose-form input[name=seconds]", "120")
    await page.click("#propose-send")
    await page.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
    vote = (await demo.state())["state"]["votes"][-1]
    assert (vote["purpose"], vote["proposal"]["title"]) == (
        "agenda_add",
        "Про звернення щодо освітлення вулиці Шевченка",
    )
    assert not await page.locator("#agenda li:has-text('освітлення вулиці Шевченка')").count()  # not before the vote
    await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote["id"], choice="for") for u in DEPUTIES[:12]))
    await demo.ok("chair", "vote.close", vote=vote["id"])
    added = page.locator("#agenda li:has-text('6. Про звернення щодо освітлення вулиці Шевченка')")
    await added.wait_for(timeout=WAIT_MS)  # adopted by those registered (the council's procedural rule)
    assert await added.get_attribute("data-status") == "pending"
