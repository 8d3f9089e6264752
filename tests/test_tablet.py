"""The deputy's tablet (/tablet) in headless Chromium with a DevTools virtual authenticator.

The page is opened at http://localhost:<port> (WebAuthn needs a secure context and a host name as
its relying party id); the council is configured for signed ballots on that origin.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Browser, CuttableLink, Page, add_authenticator, enroll, sign_in, signed_ballots_at_localhost
from conftest import Demo

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PRESENT = [f"deputy{i:02d}" for i in range(2, 20)]


@pytest.fixture
async def tablet(browser: Browser, demo_council: Demo) -> AsyncIterator[tuple[Page, Any, str]]:
    """A 1280×800 page with a user-verifying virtual authenticator; ``(page, context, origin)``."""
    origin = await signed_ballots_at_localhost(demo_council)
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="uk-UA")
    page = await context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    await add_authenticator(context, page)
    try:
        yield page, context, origin
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def _sign_in(page: Page, username: str) -> None:
    await sign_in(page, username, "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)


async def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_a_deputy_enrolls_the_tablet_registers_and_casts_a_signed_ballot(
    tablet: tuple[Page, Any, str], demo_council: Demo
) -> None:
    page, _, origin = tablet
    demo = demo_council
    await enroll(page, demo, origin, "d01", wait_ms=WAIT_MS)
    council = (await demo.client.get("/api/v1/council")).json()
    assert [c["deputy"] for c in council["credentials"]] == ["d01"]

    await _sign_in(page, "deputy01")
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    register = page.locator("#register")
    await register.wait_for(state="visible", timeout=WAIT_MS)
    assert await register.text_content() == "Зареєструватися"
    await register.click()
    await page.wait_for_selector("#registered-note:not([hidden])", timeout=WAIT_MS)
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in PRESENT))
    await page.wait_for_selector("#quorum-verdict:has-text('Кворум є')", timeout=WAIT_MS)
    # the one count every screen states
    assert await page.text_content("#quorum") == (
        "Зареєстровано 19 депутатів з 34; для кворуму потрібно 18 "
        "(ст. 46 Закону України «Про місцеве самоврядування в Україні»)"
    )
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=120)

    await page.wait_for_selector("#choices:not([hidden])", timeout=WAIT_MS)
    await _screenshot(page, "tablet-vote-open")
    await page.click(".choice[data-choice=for]")
    status = page.locator("#ballot-status[data-state=counted]:has-text('запис журналу №')")  # its ledger entry
    await status.wait_for(timeout=WAIT_MS)
    text = await status.text_content()
    assert text is not None and text.startswith("Ваш голос «За» зараховано: запис журналу №")
    assert await page.text_content("#ballot-rule") == (
        "Голос можна змінити до завершення голосування. "
        "До завершення голосування ваш вибір бачите лише ви; результати — після нього."  # sealed: the default
    )
    assert await page.get_attribute(".choice[data-choice=for]", "aria-pressed") == "true"
    await _screenshot(page, "tablet-vote-counted")

    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    # sealed until the close (a new council's default): who voted, on which device — not how
    [ballot] = [e for e in events if e["type"] == "ballot.sealed" and e["payload"]["deputy"] == "d01"]
    assert "choice" not in ballot["payload"]
    assert ballot["payload"]["credential"] == council["credentials"][0]["id"]
    entry = int(text.split("№")[1].strip(" ."))
    assert entry == ballot["seq"]  # the ledger entry named is this ballot's seq

    await demo.ok("chair", "vote.close", vote="v1")
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    [opened] = [e["payload"]["openings"] for e in events if e["type"] == "ballots.opened"]
    [opening] = [o for o in opened if o["seq"] == ballot["seq"]]
    assert opening["choice"] == "for" and opening["assertion"]["credential"] == council["credentials"][0]["id"]
    await page.wait_for_selector("#results:not([hidden])", timeout=WAIT_MS)
    assert await page.is_hidden("#choices")  # no buttons once the vote is closed
    assert await page.text_content("#my-line") == "Ваш голос у поіменному голосуванні: за."
    assert await page.text_content("#ballot-status") == ""  # one line speaks after the close, not two
    assert "не прийнято" in (await page.text_content("#outcome") or "")  # 1 of 35 needed 18
    await _screenshot(page, "tablet-results")


async def test_a_ballot_that_cannot_be_delivered_is_shown_as_failed_and_the_page_recovers(
    tablet: tuple[Page, Any, str], demo_council: Demo
) -> None:
    page, context, origin = tablet
    demo = demo_council
    await enroll(page, demo, origin, "d01", wait_ms=WAIT_MS)
    await _sign_in(page, "deputy01")
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in ["deputy01", *PRESENT]))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="за основу", rule="majority_of_composition", seconds=120)
    await page.wait_for_selector("#choices:not([hidden])", timeout=WAIT_MS)

    await context.set_offline(True)
    await page.wait_for_selector("#connection[data-status=closed]", timeout=WAIT_MS)  # the light tells the truth
    await page.click(".choice[data-choice=against]")
    failed = page.locator("#ballot-status[data-state=retrying]")
    await failed.wait_for(timeout=WAIT_MS)
    assert (await failed.text_content() or "").startswith("Голос «Проти» не доставлено: немає зв'язку. Повторюємо")
    assert await page.get_attribute(".choice[data-choice=against]", "data-pending") == "true"  # lit, not counted
    state = (await demo.client.get("/api/v1/sessions/c8-s45")).json()["state"]
    assert state["votes"][0]["voted"] == 0  # nothing counted while it cannot be delivered

    await context.set_offline(False)  # the tapped ballot goes out by itself once the link is back
    await page.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
    await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    assert [e["payload"]["deputy"] for e in events if e["type"] == "ballot.sealed"] == ["d01"]  # one ballot
    assert "«Проти» зараховано" in (await page.text_content("#ballot-status") or "")


async def test_the_tablet_switches_to_english_and_serves_a_strict_content_security_policy(
    tablet: tuple[Page, Any, str], demo_council: Demo
) -> None:
    page, _, origin = tablet
    response = await page.goto(f"{origin}/tablet")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    assert await page.text_content("#sign-in-button") == "Увійти"
    await page.click("#lang")
    assert await page.text_content("#sign-in-button") == "Sign in"
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.fill("input[name=username]", "deputy01")
    await page.fill("input[name=password]", "wrong")
    await page.click("#sign-in-button")
    await page.wait_for_selector("#sign-in-status:has-text('Wrong username or password.')", timeout=WAIT_MS)


async def test_the_tablet_first_load_is_small(browser: Browser, demo_council: Demo) -> None:
    """Issue target: under 150 KB transferred (gzip) for the tablet's first load."""
    context = await browser.new_context()
    page = await context.new_page()
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    try:
        await page.goto(f"{demo_council.server.url}/tablet")
        await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
        await page.wait_for_load_state("networkidle")
        sizes = [await r.request.sizes() for r in responses]
        scripts = [r for r in responses if r.url.endswith(".js")]
        assert scripts and all(r.headers.get("content-encoding") == "gzip" for r in scripts)
    finally:
        await context.close()
    transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
    assert transferred < 150 * 1024, f"{transferred} bytes"


async def test_a_tablet_whose_network_drops_mid_vote_resumes_and_its_vote_counts(
    browser: Browser, demo_council: Demo
) -> None:
    """The tablet reaches the server through a TCP proxy the test cuts, as a dropped Wi-Fi would
    (Chromium's offline emulation does not close a WebSocket that is already open)."""
    demo = demo_council
    async with CuttableLink(demo.server.url) as link:
        origin = await signed_ballots_at_localhost(demo, link.url)
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        errors: list[Exception] = []
        page.on("pageerror", lambda error: errors.append(error))
        await add_authenticator(context, page)
        try:
            await enroll(page, demo, origin, "d01", wait_ms=WAIT_MS)
            await _sign_in(page, "deputy01")
            await demo.ok("chair", "session.open")
            await demo.ok("secretary", "registration.open")
            await asyncio.gather(*(demo.ok(u, "presence.register") for u in ["deputy01", *PRESENT]))
            await demo.ok("chair", "item.start", item="i1")
            await demo.ok(
                "chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=120
            )
            await page.wait_for_selector("#choices:not([hidden])", timeout=WAIT_MS)

            link.cut()
            await page.wait_for_selector("#connection:not([data-status=open])", timeout=WAIT_MS)
            await page.click(".choice[data-choice=for]")
            await page.wait_for_selector(
                "#ballot-status[data-state=retrying]:has-text('не доставлено')", timeout=WAIT_MS
            )
            await demo.ok("deputy02", "speaker.request")  # the chamber goes on meanwhile
            await demo.ok("chair", "speaker.grant", deputy="d02", seconds=120)

            link.restore()
            await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
            await page.wait_for_selector("#speaker:has-text('Андрій Ковальчук')", timeout=WAIT_MS)  # caught up
            # the ballot signed while the link was down goes out by itself
            await page.wait_for_selector(
                "#ballot-status[data-state=counted]:has-text('запис журналу №')", timeout=WAIT_MS
            )
            await demo.ok("chair", "vote.close", vote="v1")
            await page.wait_for_selector("#tally:has-text('За — 1, проти — 0')", timeout=WAIT_MS)
        finally:
            await context.close()
        assert not errors, f"uncaught errors in the page: {errors}"


async def test_the_tablet_opens_a_drafts_document(tablet: tuple[Page, Any, str], demo_council: Demo) -> None:
    page, _, origin = tablet
    demo = demo_council
    body = {"id": "r", "document": "pr-101", "number": "ПР-101", "title": "Т", "initiator": "І", "rapporteur": "Р"}
    response = await demo.client.post("/api/v1/documents", json=body, headers=await demo.headers("secretary"))
    assert response.status_code == 201, response.text
    pdf = b"%PDF-1.7\n%%EOF\n"
    headers = {**await demo.headers("secretary"), "Content-Type": "application/pdf"}
    attached = await demo.client.post("/api/v1/documents/pr-101/attachments?name=p.pdf", content=pdf, headers=headers)
    assert attached.status_code == 201, attached.text
    await page.goto(f"{origin}/tablet")
    await _sign_in(page, "deputy01")
    link = page.locator("#agenda a.draft:has-text('ПР-101')")
    await link.wait_for(timeout=WAIT_MS)
    assert await link.get_attribute("href") == f"/api/v1/files/{attached.json()['sha256']}"
    assert await page.locator("#agenda a.draft").count() == 1  # the other drafts have no document yet


async def test_the_tablet_says_a_vote_was_cancelled_keeps_a_conflicted_deputy_from_voting_and_drops_old_results(
    browser: Browser, demo_council: Demo
) -> None:
    """The demo council (unsigned ballots): what the tablet says is about the rules, not the device."""
    demo = demo_council
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    try:
        await page.goto(f"{demo.server.url}/tablet")
        await _sign_in(page, "deputy01")
        await demo.ok("chair", "session.open")
        await demo.ok("secretary", "registration.open")
        await asyncio.gather(*(demo.ok(u, "presence.register") for u in ["deputy01", *PRESENT]))
        await demo.ok("chair", "item.start", item="i1")

        # a conflict of interest declared with quorum to spare: the deputy does not vote (art. 59-1)
        await page.click("#conflict-title")
        await page.fill("#conflict-form textarea[name=reason]", "родинні зв'язки")
        await page.click("#conflict-send")
        await page.wait_for_selector("#conflict-declared:not([hidden])", timeout=WAIT_MS)
        await demo.ok("chair", "vote.open", item="i1", subject="за основу", rule="majority_of_composition", seconds=120)
        await page.wait_for_selector("#choices:not([hidden])", timeout=WAIT_MS)
        assert (await page.text_content("#ballot-rule") or "").startswith("Ви заявили про конфлікт інтересів")
        assert await page.is_disabled(".choice[data-choice=for]")

        # a cancelled vote is said to be cancelled, with its reason
        await demo.ok("chair", "vote.cancel", vote="v1", reason="помилка в проєкті")
        await page.wait_for_selector("#vote-title:has-text('скасовано')", timeout=WAIT_MS)
        assert await page.text_content("#vote-title") == "Голосування «за основу» скасовано: помилка в проєкті"

        # a closed vote's result is not shown once the next item is under consideration
        await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=120)
        await demo.ok("chair", "vote.close", vote="v2")
        await page.wait_for_selector("#results:not([hidden])", timeout=WAIT_MS)
        await demo.ok("chair", "item.finish", item="i1")
        await demo.ok("chair", "item.start", item="i2")
        await page.wait_for_selector("#vote-title:has-text('Зараз голосування немає')", timeout=WAIT_MS)
        assert await page.is_hidden("#results")
    finally:
        await context.close()


async def test_in_a_sealed_vote_the_tablet_shows_its_own_choice_which_nobody_else_can_read_until_the_close(
    tablet: tuple[Page, Any, str], demo_council: Demo
) -> None:
    page, _, origin = tablet
    demo = demo_council
    sealed = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "seal", "type": "council.configure", "results": "counts"},  # the display counts voters
        headers=await demo.headers("admin"),
    )
    assert sealed.status_code == 200, sealed.text
    await enroll(page, demo, origin, "d01", wait_ms=WAIT_MS)
    await _sign_in(page, "deputy01")
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in ["deputy01", *PRESENT]))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", seconds=120, kind="basis_and_whole")
    display = await page.context.new_page()  # the chamber's display follows the public event stream
    await display.goto(f"{origin}/display/c8-s45")
    await display.wait_for_selector("#voted:has-text('Голосування триває: проголосували 0')", timeout=WAIT_MS)

    await page.click(".choice[data-choice=against]", timeout=WAIT_MS)
    status = page.locator("#ballot-status[data-state=counted]:has-text('запис журналу №')")
    await status.wait_for(timeout=WAIT_MS)
    text = await status.text_content()
    assert text is not None and text.startswith("Ваш голос «Проти» зараховано: запис журналу №")
    assert await page.get_attribute(".choice[data-choice=against]", "aria-pressed") == "true"
    assert (await page.text_content("#ballot-rule") or "").endswith(
        "До завершення голосування ваш вибір бачите лише ви; результати — після нього."
    )
    # what everyone else can read says that d01 voted, never how
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    [ballot] = [e for e in events if e["type"] == "ballot.sealed" and e["payload"]["deputy"] == "d01"]
    assert int(text.split("№")[1].strip(" .")) == ballot["seq"] and "choice" not in ballot["payload"]
    assert "against" not in str((await demo.state())["state"]["votes"])
    await _screenshot(page, "tablet-sealed-counted")
    await display.wait_for_selector(
        "#voted:has-text('Голосування триває: проголосували 1')", timeout=WAIT_MS
    )  # who, never how

    await demo.ok("chair", "vote.close", vote="v1")
    await page.wait_for_selector("#results:not([hidden])", timeout=WAIT_MS)
    assert await page.text_content("#my-line") == "Ваш голос у поіменному голосуванні: проти."
