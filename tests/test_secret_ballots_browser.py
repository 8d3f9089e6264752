"""A secret vote in headless Chromium (issue 20): three counting commission members make the key on their
enrolled tablets (one tap each, the rest follows by itself), four deputies vote on their enrolled tablets —
each ballot encrypted on the tablet and signed by its fingerprint — and after the close two of the three
members decrypt the result on their tablets; the chamber display shows the counts and a roll call that says
who voted by secret ballot, never how."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from browser_support import Browser, Pages, enroll, sign_in, signed_ballots_at_localhost
from conftest import Demo, eventually

WAIT_MS = 30_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTIONS = [{"question": "secretary", "title": "Обрання секретаря ради", "citation": "п. 4 ч. 1 ст. 26"}]
MEMBERS = ["d01", "d02", "d03"]
CHOICES = {"d01": "for", "d02": "against", "d03": "for", "d04": "abstain"}


async def _state(demo: Demo) -> dict[str, Any]:
    state: dict[str, Any] = (await demo.state())["state"]
    return state


@pytest.mark.timeout(240)
async def test_members_make_the_key_and_count_on_their_tablets_and_the_display_shows_a_secret_result(
    browser: Browser, demo_council: Demo
) -> None:
    demo = demo_council
    origin = await signed_ballots_at_localhost(demo)
    configured = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "questions", "type": "council.configure", "secret_questions": QUESTIONS},
        headers=await demo.headers("admin"),
    )
    assert configured.status_code == 200, configured.text
    async with Pages(browser) as pages:
        tablets = {}
        for member in CHOICES:
            page = await pages.open(1280, 900, authenticator=True, locale="uk-UA")
            await enroll(page, demo, origin, member, wait_ms=WAIT_MS)
            await sign_in(page, f"deputy{member[1:]}", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
            tablets[member] = page
        display = await pages.open(1920, 1080, locale="uk-UA")
        await display.goto(f"{origin}/display/c8-s45")
        await demo.ok("chair", "session.open")
        await demo.ok("secretary", "registration.open")
        await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 19)))
        await demo.ok("chair", "item.start", item="i1")
        # the chair records the commission the council elected, from the console
        console = await pages.open(1440, 1000, locale="uk-UA")
        await console.goto(f"{origin}/console?session=c8-s45")
        await sign_in(console, "chair", "#desk:not([hidden])", wait_ms=WAIT_MS)
        await console.wait_for_selector("#commission-panel:not([hidden])", timeout=WAIT_MS)
        assert await console.text_content("#commission-line") == (
            "Рада ще не обрала лічильну комісію на цьому засіданні: без неї таємне голосування неможливе."
        )
        await console.click("#commission-new-title")
        for member in MEMBERS:
            await console.check(f"#commission-members input[value={member}]")
        await console.fill("#commission-form input[name=threshold]", "2")
        await console.click("#commission-send")
        await console.wait_for_selector("#commission-line[data-stage=committing]", timeout=WAIT_MS)

        # each member taps once; the tablets deal and check the shares by themselves
        for member in MEMBERS:
            page = tablets[member]
            await page.wait_for_selector("#commission:not([hidden]) #commission-act:not([hidden])", timeout=WAIT_MS)
            assert await page.text_content("#commission-act") == "Створити мою частку ключа"
            await page.click("#commission-act")

        async def keyed() -> bool:
            return (await _state(demo))["commission"]["stage"] == "keyed"

        await eventually(keyed, "the commission's key made by the tablets", seconds=60)
        for member in MEMBERS:
            await tablets[member].wait_for_selector(
                "#commission-status:has-text('Ключ лічильної комісії створено')", timeout=WAIT_MS
            )
            assert await tablets[member].evaluate(
                "Object.keys(localStorage).some((k) => k.startsWith('kvorum-commission:'))"
            )

        await console.wait_for_selector("#commission-line[data-stage=keyed]", timeout=WAIT_MS)
        assert "Ключ створено: можна проводити таємне голосування." in (
            await console.text_content("#commission-line") or ""
        )
        # the secret vote opened from the console, on the council's listed question
        await console.select_option("#kind", "basis_and_whole")
        await console.check("#secret")
        await console.wait_for_selector("#question-row:not([hidden])", timeout=WAIT_MS)
        assert await console.locator("#question option").all_text_contents() == [
            "Обрання секретаря ради (п. 4 ч. 1 ст. 26)"
        ]
        await console.fill("#vote-form input[name=subject]", "Обрання секретаря ради")
        await console.fill("#vote-form input[name=seconds]", "120")
        ARTIFACTS.mkdir(exist_ok=True)
        await console.screenshot(path=str(ARTIFACTS / "console-secret-vote.png"), full_page=True)
        await console.click("#open-vote")
        await console.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
        assert (await _state(demo))["votes"][-1]["secret"] is True
        for member, choice in CHOICES.items():
            page = tablets[member]
            await page.wait_for_selector("#ballot-rule:has-text('Голосування таємне')", timeout=WAIT_MS)
            await page.click(f".choice[data-choice={choice}]")
            await page.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
        ARTIFACTS.mkdir(exist_ok=True)
        await tablets["d04"].screenshot(path=str(ARTIFACTS / "tablet-secret-ballot.png"))
        events = (await demo.client.get("/api/v1/sessions/c8-s45/events?limit=5000")).json()["events"]
        encrypted = [e for e in events if e["type"] == "ballot.encrypted"]
        assert len(encrypted) == 4 and all("choice" not in e["payload"] for e in encrypted)
        assert all("assertion" in e["payload"] for e in encrypted)  # each signed by its tablet

        await demo.ok("chair", "vote.close", vote="v1")
        await console.wait_for_selector("#voted:has-text('Голоси підраховує лічильна комісія')", timeout=WAIT_MS)
        assert await console.is_hidden("#close-vote")
        await display.wait_for_selector("#voted:has-text('Голоси підраховує лічильна комісія')", timeout=WAIT_MS)
        for member in ("d01", "d03"):  # d02 is not needed
            page = tablets[member]
            await page.wait_for_selector(
                "#commission-act:has-text('Розшифрувати підсумок голосування')", timeout=WAIT_MS
            )
            await page.click("#commission-act")
        await display.wait_for_selector("#results-panel:not([hidden])", timeout=WAIT_MS)
        totals = {
            line: await display.text_content(f"#totals li[data-line={line}] .count")
            for line in ("for", "against", "abstain")
        }
        assert totals == {"for": "2", "against": "1", "abstain": "1"}
        marks = set(await display.locator("#roll-call .cell.voted .mark").all_text_contents())
        assert marks == {"● Таємно"}
        assert "(таємне голосування)" in (await display.text_content("#results-kind") or "")
        await display.screenshot(path=str(ARTIFACTS / "display-secret-result.png"))
        await tablets["d01"].wait_for_selector("#my-line:has-text('таємно')", timeout=WAIT_MS)
        # the deputy's receipt of the encrypted ballot, checked and kept on the tablet as for an open one
        await tablets["d04"].wait_for_selector("#receipt-line[data-state=kept]", timeout=WAIT_MS)
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"
