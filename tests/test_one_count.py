"""One count everywhere: the console, a tablet, the display, the live page, the minutes, the portal
and the open data state the same composition for one sitting, in the same words, and say how it
was reached (art. 46 for the quorum, art. 59 part 2 for the mayor who takes part).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator

import pytest
from browser_support import Browser, Page, Pages, sign_in
from conftest import Demo

from portal_bridge.ukrainian import composition_line, registration_line

WAIT_MS = 20_000


@pytest.fixture
async def pages(browser: Browser, demo_council: Demo) -> AsyncIterator[Pages]:
    async with Pages(browser) as opened:
        yield opened


async def _open(pages: Pages, url: str, width: int = 1440, height: int = 900) -> Page:
    page = await pages.open(width, height)
    await page.goto(url)
    return page


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#34;", '"').replace("&#39;", "'")


@pytest.mark.timeout(240)
async def test_every_screen_the_minutes_the_portal_and_the_open_data_state_one_composition(
    pages: Pages, demo_council: Demo
) -> None:
    demo = demo_council
    base = demo.server.url
    console = await _open(pages, f"{base}/console")
    await sign_in(console, "chair", "#desk:not([hidden])")
    tablet = await _open(pages, f"{base}/tablet", 1280, 800)
    await sign_in(tablet, "deputy01", "#chamber:not([hidden])")
    display = await _open(pages, f"{base}/display/c8-s45", 1920, 1080)
    live = await _open(pages, f"{base}/live/c8-s45", 390, 844)

    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("chair", "presence.register")  # the mayor takes part: 34 + 1
    await demo.ok("secretary", "registration.close")
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for") for n in range(1, 19)))
    await demo.ok("chair", "vote.close", vote="v1")

    composition = (await demo.state())["state"]["composition"]
    assert composition == {
        "statutory": 34,
        "quorum": 18,
        "registered_deputies": 20,
        "mayor_taking_part": True,
        "total": 35,
        "registered": 21,
        "committee": False,  # the council's plenary, not a committee's sitting
    }
    registered = registration_line(composition)
    counted = composition_line(composition)
    assert registered.startswith("Зареєстровано 20 депутатів з 34 і міський голова; для кворуму потрібно 18")
    assert counted.startswith("Склад ради для підрахунку голосів — 35: 34 депутати за законом і міський голова")

    # the screens, live
    await console.wait_for_selector("#vote-result h3", timeout=WAIT_MS)
    assert await console.text_content("#quorum") == registered
    assert await console.text_content("#composition") == counted
    await tablet.wait_for_selector("#results:not([hidden])", timeout=WAIT_MS)
    assert await tablet.text_content("#quorum") == registered
    await display.wait_for_selector("#results-panel:not([hidden])", timeout=WAIT_MS)
    assert await display.text_content("#registration") == registered
    assert await display.text_content("#composition") == counted  # with the result: how it was reached
    await live.wait_for_selector("#vote-results:not([hidden])", timeout=WAIT_MS)
    assert await live.text_content("#registration") == registered
    assert await live.text_content("#composition") == counted

    # the tally's lines add up to that composition, and it decided the threshold
    tally = (await demo.state())["state"]["votes"][0]["tally"]
    assert sum(tally[k] for k in ("for", "against", "abstain", "not_voted", "absent")) == composition["total"]
    assert tally["required"] == composition["total"] // 2 + 1 == 18

    # the minutes and the portal say it in the same words
    minutes = _text((await demo.client.get("/sessions/c8-s45/minutes")).text)
    assert registered in minutes and counted in minutes
    portal = _text((await demo.client.get("/sessions/c8-s45")).text)
    assert registered in portal and counted in portal

    # the open data give the same figure for the vote
    for _ in range(200):  # the open-data consumer writes right after the commit
        motions = (await demo.client.get("/opendata/ua835/motions.json?session=c8-s45")).json()
        if motions:
            break
        await asyncio.sleep(0.025)
    assert [m["composition"] for m in motions] == [composition["total"]]
    popolo = (await demo.client.get("/opendata/popolo.json")).json()
    assert [e["composition"] for e in popolo["vote_events"]] == [composition["total"]]
    text = (await demo.client.get("/opendata/ua835/motions.csv?session=c8-s45")).content.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["composition"] == "35"
