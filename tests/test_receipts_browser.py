"""A deputy's receipt in headless Chromium (issue 18): the deputy votes on the enrolled tablet; at the close
the tablet fetches, checks and keeps the receipt of its ballot under a checkpoint cosigned by the
council's two witnesses (real processes); the receipt is saved as a file that ``kvorum verify --receipt``
accepts, shown as a QR code, and checked on «Перевірити свій голос» against the portal's ledger after the
sitting went on; a receipt whose ballot was changed is refused there."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Browser, Pages, enroll, sign_in, signed_ballots_at_localhost
from conftest import Demo
from witness_support import WitnessProcess

from session_server.cli import main

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PRESENT = [f"deputy{i:02d}" for i in range(2, 20)]


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[list[WitnessProcess]]:
    made = [WitnessProcess(tmp_path / f"w{n}", name=f"witness{n}.example") for n in (1, 2)]
    yield made
    for witness in made:
        witness.stop()


async def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_the_tablet_keeps_a_witnessed_receipt_that_checks_against_the_portal_s_ledger(
    browser: Browser, demo_council: Demo, witnesses: list[WitnessProcess], tmp_path: Path, capsys: Any
) -> None:
    demo = demo_council
    origin = await signed_ballots_at_localhost(demo)
    council_key = demo.server.kvorum.ledger.signer.vkey
    for witness in witnesses:
        witness.follow("kvorum.localhost/voznesensk", council_key)
        witness.start()
    listed = [{"name": f"witness{n}.example", "url": w.url, "key": w.vkey} for n, w in enumerate(witnesses, 1)]
    configured = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "witnesses", "type": "council.configure", "witnesses": listed, "witnesses_needed": 2},
        headers=await demo.headers("admin"),
    )
    assert configured.status_code == 200, configured.text

    async with Pages(browser) as pages:
        page = await pages.open(1280, 900, authenticator=True, locale="uk-UA")
        await enroll(page, demo, origin, "d01", wait_ms=WAIT_MS)
        await sign_in(page, "deputy01", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
        await demo.ok("chair", "session.open")
        await demo.ok("secretary", "registration.open")
        await page.locator("#register").click()
        await asyncio.gather(*(demo.ok(u, "presence.register") for u in PRESENT))
        await demo.ok("chair", "item.start", item="i1")
        await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=120)
        await page.click(".choice[data-choice=for]")
        await page.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
        await demo.ok("chair", "vote.close", vote="v1")

        kept = page.locator("#receipt-line[data-state=kept]")
        await kept.wait_for(timeout=WAIT_MS)
        text = await kept.text_content() or ""
        assert text.startswith("Квитанцію вашого голосу збережено на цьому пристрої: запис журналу № ")
        assert text.endswith("Підписів свідків: 2; потрібно: 2.")
        entry = await page.evaluate("JSON.parse(localStorage.getItem('kvorum.receipts'))[0]")
        assert entry["session"] == "c8-s45" and sorted(entry["cosigned"]) == ["witness1.example", "witness2.example"]
        events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
        [ballot] = [e for e in events if e["type"] == "ballot.sealed" and e["payload"]["deputy"] == "d01"]
        assert entry["seq"] == ballot["seq"] and f"№ {ballot['seq']}." in text
        await page.click("#receipt-show-qr")
        assert (await page.get_attribute("#receipt-qr", "src") or "").startswith("data:image/")
        await _screenshot(page, "tablet-receipt")

        async with page.expect_download() as download_info:
            await page.click("#receipt-save")
        download = await download_info.value
        assert download.suggested_filename == f"kvorum-receipt-c8-s45-{ballot['seq']}.json"
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)

        # the sitting goes on: the receipt still checks, against a ledger that only grew
        await demo.ok("chair", "vote.open", item="i1", subject="повторно", rule="majority_of_composition", seconds=60)
        await demo.ok("chair", "vote.close", vote="v2")
        export = tmp_path / "ledger.json"
        export.write_bytes((await demo.client.get("/api/v1/sessions/c8-s45/ledger/export")).content)
        keys = [arg for w in witnesses for arg in ("--witness", w.vkey)]
        assert await asyncio.to_thread(main, ["verify", str(export), "--receipt", str(saved), *keys]) == 0
        assert f"the ballot of d01 in vote v1, event {ballot['seq']}, is in the ledger" in capsys.readouterr().out

        checker = await pages.open(1280, 900, locale="uk-UA")
        await checker.goto(f"{origin}/receipt")
        await checker.set_input_files("#file", str(saved))
        verdict = checker.locator("#verdict[data-state=ok] li[data-key=okWitnesses]")
        await verdict.wait_for(timeout=WAIT_MS)
        lines = await checker.locator("#verdict li").all_text_contents()
        assert lines[0] == f"✓ Голос є в журналі засідання c8-s45: запис № {ballot['seq']}."
        assert lines[1] == "Депутат: Олена Бондар. Голосування: «в цілому», питання 1."  # sealed: no choice in it
        assert "є продовженням того, що бачив планшет" in lines[2]
        assert lines[3].startswith("Підписів свідків на поточному журналі: 2")
        await _screenshot(checker, "receipt-check")

        # on the deputy's own tablet the kept receipt is listed and checked in one tap; its QR address too
        await page.goto(f"{origin}/receipt")
        await page.click("#kept li button")
        await page.locator("#verdict[data-state=ok] li[data-key=okExtends]").wait_for(timeout=WAIT_MS)
        url = await page.evaluate("import('/static/receipts.js').then((m) => m.receiptUrl(m.keptReceipts()[0]))")
        await checker.goto(url)
        await checker.locator("#verdict[data-state=ok] li[data-key=okExtends]").wait_for(timeout=WAIT_MS)
        assert (await checker.locator("#verdict li").first.text_content() or "").startswith("Квитанція з QR-коду")

        # a receipt whose ballot was changed does not hold
        forged = json.loads(saved.read_text())
        leaf = bytearray(base64.b64decode(forged["leaf"]))
        leaf[-3] ^= 1
        forged["leaf"] = base64.b64encode(bytes(leaf)).decode()
        bad = tmp_path / "forged.json"
        bad.write_text(json.dumps(forged))
        await checker.goto(f"{origin}/receipt")
        await checker.set_input_files("#file", str(bad))
        warning = checker.locator("#verdict[data-state=bad] li[data-key=badProof]")
        await warning.wait_for(timeout=WAIT_MS)
        assert (await warning.text_content() or "").startswith("Увага: доказ включення в квитанції не сходиться.")
        # the secretary's console shows who cosigned what
        console = await pages.open(1280, 900, locale="uk-UA")
        await console.goto(f"{origin}/console")
        await sign_in(console, "secretary", "#desk:not([hidden])", wait_ms=WAIT_MS)
        first = console.locator("#witness-health li[data-witness='witness1.example']")
        await first.wait_for(timeout=WAIT_MS)
        line = await first.text_content() or ""
        assert f"witness1.example ({witnesses[0].url}) — підписів: " in line and "Усі журнали засвідчено." in line
        assert await console.text_content("#witnesses-needed") == (
            "Кожну контрольну точку мають підписати свідків: 2 (призначено: 2)."
        )
        await console.locator("#witnesses-panel").screenshot(path=str(ARTIFACTS / "console-witnesses.png"))
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"
