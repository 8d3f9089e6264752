"""The mayor signs adopted decisions on /sign in headless Chromium, on the device enrolled from the
secretary's link (a DevTools virtual authenticator that verifies the user); the decision page shows
the signature verified, and the decision's export passes ``kvorum verify``'s check, a tampered one not.

The pages are opened at http://localhost:<port> (WebAuthn needs a secure context and a host name as
its relying party id); the council's devices are configured for that origin.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from accessibility_support import axe_source, serious_violations
from browser_support import Browser, Page, add_authenticator, enroll, sign_in, signed_ballots_at_localhost
from conftest import Demo
from signing_support import DECISION_NUMBER, adopted_decision

from portal_bridge.decision_audit import audit_decision
from session_server.domain.audit import Discrepancy
from voting.canonical import seal

__all__ = ["axe_source"]  # the fixture: axe-core's source, as the accessibility audit reads it

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


class Mayor:
    """The mayor's browser page with a virtual platform authenticator, and the means to hold its touch."""

    def __init__(self, page: Page, cdp: Any, authenticator: str, origin: str) -> None:
        self.page, self.cdp, self.authenticator, self.origin = page, cdp, authenticator, origin

    async def touch_automatically(self, enabled: bool) -> None:
        """Whether the device confirms at once (as a finger on the sensor) or waits, as a real one does."""
        await self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": self.authenticator, "enabled": enabled}
        )

    async def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def mayor(browser: Browser, demo_council: Demo) -> AsyncIterator[Mayor]:
    origin = await signed_ballots_at_localhost(demo_council)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="uk-UA")
    page = await context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    cdp, authenticator = await add_authenticator(context, page)
    try:
        yield Mayor(page, cdp, authenticator, origin)
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _card(page: Page, document: str) -> Any:
    return page.locator(f".decision[data-document={document}]")


async def test_the_mayor_enrolls_a_device_signs_on_sign_and_the_decision_page_shows_it_verified(
    mayor: Mayor, demo_council: Demo, axe_source: str
) -> None:
    demo, page = demo_council, mayor.page
    await enroll(page, demo, mayor.origin, "mayor", wait_ms=WAIT_MS)
    await adopted_decision(demo, "pr-101")
    await adopted_decision(
        demo,
        "pr-102",
        title="Про встановлення тарифів на вивезення побутових відходів",
        decision_number="1433-VIII",
        text="Міська рада вирішила:\n1. Встановити тарифи згідно з додатком.\n"
        "2. Рішення набирає чинності з 1 січня 2027 року.",
    )
    council = (await demo.client.get("/api/v1/council")).json()

    await page.goto(f"{mayor.origin}/sign")
    await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    await sign_in(page, "chair", "#desk:not([hidden])", wait_ms=WAIT_MS)
    first = _card(page, "pr-101")
    assert await page.locator(".decision").count() == 2
    assert f"Рішення № {DECISION_NUMBER}: Про програму «Цифрова громада»" == await first.locator("h3").text_content()
    document = (await demo.client.get("/api/v1/documents/pr-101")).json()
    assert await first.locator(".text").text_content() == document["text"]  # the mayor reads what is signed
    assert await page.text_content("#who") == next(d["name"] for d in council["deputies"] if d["mayor"])
    assert await first.locator(".digest").text_content() == document["digest"]  # the page's digest is the server's
    assert (
        await first.locator(".files a").get_attribute("href") == f"/api/v1/files/{document['attachments'][0]['sha256']}"
    )
    await mayor.screenshot("sign-before")
    await page.set_viewport_size({"width": 390, "height": 844})  # the mayor's phone may be the enrolled device
    await mayor.screenshot("sign-before-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # A real device waits for the finger: the page says what to do meanwhile. (Chromium's virtual
    # authenticator never resumes a request begun without presence, so the page is reloaded after.)
    await mayor.touch_automatically(False)
    await first.locator(".sign-button").click()
    await page.wait_for_selector(".decision[data-document=pr-101][data-state=signing]", timeout=WAIT_MS)
    assert await first.locator(".sign-status").text_content() == (
        "Підтвердьте підпис на пристрої відбитком пальця або PIN-кодом…"
    )
    assert await first.locator(".sign-button").is_disabled()
    await mayor.screenshot("sign-signing")
    await mayor.touch_automatically(True)
    await page.reload()
    await page.wait_for_selector(".decision[data-document=pr-101][data-state=ready]", timeout=WAIT_MS)

    await first.locator(".sign-button").click()
    await page.wait_for_selector(".decision[data-document=pr-101][data-state=signed]", timeout=WAIT_MS)
    status = await first.locator(".sign-status").text_content() or ""
    assert status.startswith("✓ Рішення підписано ") and status.endswith("Підпис перевірено.")
    assert re.search(r"\d+ \w+ \d{4} р\., \d\d:\d\d", status), status
    assert await first.locator(".sign-button").is_hidden()
    await mayor.screenshot("sign-signed")

    events = (await demo.client.get("/api/v1/documents/pr-101")).json()
    council = (await demo.client.get("/api/v1/council")).json()
    [credential] = [c["id"] for c in council["credentials"] if c["deputy"] == "mayor"]
    assert events["status"] == "signed" and events["signature"]["key_id"] == credential
    assert events["signature"]["check"]["verified"] is True

    # The device is lost and revoked while the page is open: its next signature is refused, in words.
    revoked = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "revoke", "type": "credential.revoke", "credential": credential, "reason": "Пристрій загублено"},
        headers=await demo.headers("secretary"),
    )
    assert revoked.status_code == 200, revoked.text
    second = _card(page, "pr-102")
    await second.locator(".sign-button").click()
    await page.wait_for_selector(".decision[data-document=pr-102][data-state=refused]", timeout=WAIT_MS)
    refusal = await second.locator(".sign-status").text_content() or ""
    assert (
        refusal
        == "Цей пристрій відкликано, тож підписати ним не можна. Попросіть секретаря зареєструвати новий пристрій."
    )
    # and the page no longer offers to sign with it: no device of the mayor's is left
    await page.wait_for_selector("#page-status:has-text('Для вас не зареєстровано жодного пристрою')", timeout=WAIT_MS)
    assert await second.locator(".sign-button").is_disabled()
    assert (await demo.client.get("/api/v1/documents/pr-102")).json()["status"] == "adopted"
    await mayor.screenshot("sign-refused")
    assert await serious_violations(page, axe_source) == []  # signed, refused and waiting cards alike

    # The decision's page shows the signature verified from the ledger, and how to check it offline.
    await page.goto(f"{mayor.origin}/decisions/pr-101")
    text = re.sub(r"\s+", " ", await page.locator("main").inner_text())
    assert re.search(
        rf"✓ Підпис міського голови перевірено: пристрій {re.escape(credential[:8])}… \(зареєстровано [^)]+\), "
        r"дата \d+ \w+ \d{4} р\., \d\d:\d\d\.",
        text,
    ), text
    assert "Пристрій відкликано пізніше" in text  # revoked after it signed: the signature stands
    assert "kvorum verify" in text
    await mayor.screenshot("decision-signed-on-device")

    # The export passes the offline check; the text changed after signing does not.
    export = (await demo.client.get("/api/v1/documents/pr-101/export")).json()
    report = audit_decision(export)
    assert (report.decision_number, report.key_id, report.digest) == (DECISION_NUMBER, credential, document["digest"])
    leaves = [orjson.loads(base64.b64decode(leaf)) for leaf in export["document_events"]]
    forged, prev = [], bytes(32)
    for event in leaves:
        payload = event["payload"]
        if event["type"] == "draft.registered":
            payload = {**payload, "text": "Міська рада вирішила: скасувати програму."}
        fields = {k: event[k] for k in ("stream", "seq", "type", "actor", "at")}
        digest, leaf = seal(prev, **fields, payload=payload)
        forged.append(base64.b64encode(leaf).decode())
        prev = bytes.fromhex(digest)
    with pytest.raises(Discrepancy, match="the signed digest is not the decision's"):
        audit_decision({**export, "document_events": forged})


async def test_someone_other_than_the_mayor_is_told_in_ukrainian_that_only_the_mayor_signs(
    mayor: Mayor, demo_council: Demo, axe_source: str
) -> None:
    await adopted_decision(demo_council, "pr-101")
    page = mayor.page
    await page.goto(f"{mayor.origin}/sign")
    await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    assert await serious_violations(page, axe_source) == []
    await sign_in(
        page, "deputy01", "#page-status:has-text('Підписувати рішення може лише міський голова')", wait_ms=WAIT_MS
    )
    status = page.locator("#page-status")
    assert await page.is_hidden("#desk")
    assert "deputy01" in (await status.text_content() or "")
    assert await serious_violations(page, axe_source) == []


async def test_the_signing_page_tells_a_wrong_password_and_switches_language_without_losing_the_form(
    mayor: Mayor, demo_council: Demo
) -> None:
    page = mayor.page
    await page.goto(f"{mayor.origin}/sign")
    await page.wait_for_selector("#sign-in:not([hidden])", timeout=WAIT_MS)
    await page.fill("input[name=username]", "mayor")
    await page.fill("input[name=password]", "wrong")
    await page.click("#sign-in-button")
    await page.wait_for_selector(
        '#sign-in-status:has-text("Неправильне ім\'я користувача або пароль.")', timeout=WAIT_MS
    )
    await page.click("#lang")
    assert await page.text_content("#heading") == "Signing decisions"
    assert await page.text_content("#lang") == "Українська"
    await page.click("#sign-in-button")
    await page.wait_for_selector("#sign-in-status:has-text('Wrong username or password.')", timeout=WAIT_MS)
    await page.click("#lang")
    assert await page.text_content("#heading") == "Підписання рішень"
    await sign_in(page, "chair", "#desk:not([hidden])", wait_ms=WAIT_MS)
    assert await page.text_content("#sign-in-status") == ""
