"""Amendments in Chromium (issue 17): the secretary enters one on the console, the chair puts it to the vote
from the console, and a deputy reads its changes as a diff of the draft's lines on the tablet and votes on
it (the demo council, unsigned ballots: the signed path is the tablet's own tests')."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from accessibility_support import serious_violations
from amendments_support import document_command, scheduled_draft
from browser_support import Browser, sign_in
from conftest import Demo

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
AXE = Path(__file__).resolve().parent.parent / ".cache/axe-core-4.14.1/axe.min.js"
PRESENT = [f"deputy{i:02d}" for i in range(2, 20)]


async def _document(demo: Demo, user: str, type_: str, **fields: Any) -> None:
    answer = await document_command(demo, user, f"{type_}-{len(str(fields))}-{user}", type_, **fields)
    assert answer.status_code == 200, answer.text


async def test_a_deputy_reads_an_amendment_s_changes_and_votes_on_it(browser: Browser, demo_council: Demo) -> None:
    demo = demo_council
    origin = demo.server.url
    await scheduled_draft(demo)
    await _document(
        demo,
        "deputy03",
        "amendment.propose",
        reason="Школам потрібно більше",
        changes=[{"op": "replace", "from": 2, "to": 2, "text": "2. Збільшити видатки на ремонт шкіл на 12 млн грн."}],
    )

    # Three people, three devices: the secretary's and the chair's consoles, the deputy's tablet.
    contexts = [
        await browser.new_context(viewport=size, locale="uk-UA")
        for size in ({"width": 1440, "height": 900}, {"width": 1280, "height": 800}, {"width": 1440, "height": 900})
    ]
    errors: list[Exception] = []
    try:
        # The secretary enters a deputy's written amendment on the console: it changes line 2 too.
        console = await contexts[0].new_page()
        console.on("pageerror", lambda error: errors.append(error))
        await console.goto(f"{origin}/console")
        await sign_in(console, "secretary", "#desk:not([hidden])", connected=True, wait_ms=WAIT_MS)
        await console.click("#amendment-title")
        await console.select_option("#am-draft", "pr-101")
        await console.select_option("#am-author", "d07")
        await console.select_option("#am-op", "delete")
        assert await console.is_hidden("#am-text-row")
        await console.fill("#amendment-form input[name=from]", "2")
        await console.fill("#amendment-form input[name=to]", "3")
        await console.fill("#amendment-form textarea[name=reason]", "Видатки не збільшувати")
        await console.click("#am-send")
        await console.wait_for_selector("#documents-panel .panel-status:has-text('Виконано')", timeout=WAIT_MS)
        document = (await demo.client.get("/api/v1/documents/pr-101")).json()
        assert [(a["number"], a["author"], a["conflicts_with"]) for a in document["amendments"]] == [
            (1, {"kind": "deputy", "member": "d03"}, [2]),
            (2, {"kind": "deputy", "member": "d07"}, [1]),
        ]

        tablet = await contexts[1].new_page()
        tablet.on("pageerror", lambda error: errors.append(error))
        await tablet.goto(f"{origin}/tablet")
        await sign_in(tablet, "deputy01", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
        await demo.ok("chair", "session.open")
        await demo.ok("secretary", "registration.open")
        await asyncio.gather(*(demo.ok(u, "presence.register") for u in ["deputy01", *PRESENT]))
        await demo.ok("chair", "item.start", item="i1")
        opened = await demo.ok("chair", "vote.open", item="i1", subject="за основу", seconds=120, kind="basis")
        basis = str(opened["events"][0]["payload"]["vote"])
        await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=basis, choice="for") for u in PRESENT))
        await demo.ok("chair", "vote.close", vote=basis)

        # The tablet lists the draft's amendments beside the vote, each change as a diff of numbered lines.
        first = tablet.locator("#amendments article[data-amendment=a1]")
        await first.wait_for(timeout=WAIT_MS)
        assert await tablet.text_content("#amendments-title") == "Поправки до проєкту ПР-101"
        d03 = next(d["name"] for d in (await demo.client.get("/api/v1/council")).json()["deputies"] if d["id"] == "d03")
        assert await first.locator(".by").text_content() == f"Автор: {d03}"
        assert await first.locator(".where").text_content() == "Рядок 2 викласти так:"
        assert await first.locator(".diff-removed del").all_text_contents() == [
            "2. Збільшити видатки на ремонт шкіл на 10 млн грн."
        ]
        assert await first.locator(".diff-removed .ln").all_text_contents() == ["2"]
        assert await first.locator(".diff-added ins").all_text_contents() == [
            "2. Збільшити видатки на ремонт шкіл на 12 млн грн."
        ]
        flag = await first.locator(".conflict-flag").text_content()
        assert flag == "⚠ Змінює ті самі рядки, що й поправка 2: прийнятою може бути лише одна з них."
        second = tablet.locator("#amendments article[data-amendment=a2]")
        assert await second.locator(".where").text_content() == "Рядки 2–3 вилучити."
        assert await second.locator(".diff-removed .ln").all_text_contents() == ["2", "3"]

        # The chair puts amendment 1 to the vote from the console.
        chair = await contexts[2].new_page()
        chair.on("pageerror", lambda error: errors.append(error))
        await chair.goto(f"{origin}/console")
        await sign_in(chair, "chair", "#desk:not([hidden])", connected=True, wait_ms=WAIT_MS)
        await chair.select_option("#kind", "amendment")
        choices = chair.locator("#amendment-choices label")
        await choices.first.wait_for(timeout=WAIT_MS)
        assert await choices.all_text_contents() == [
            " Поправка 1: Школам потрібно більше (змінює ті самі рядки, що й 2)",
            " Поправка 2: Видатки не збільшувати (змінює ті самі рядки, що й 1)",
        ]
        await chair.check("#amendment-choices input[value=a1]")
        await chair.check("#amendment-choices input[value=a2]")
        await chair.click("#open-vote")  # jointly, two that change the same lines: refused in words
        await chair.wait_for_selector("#vote-panel .panel-status:has-text('ті самі рядки')", timeout=WAIT_MS)
        await chair.uncheck("#amendment-choices input[value=a2]")
        await chair.screenshot(path=str(ARTIFACTS / "console-amendment.png"), full_page=True)
        await chair.click("#open-vote")
        await chair.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)

        # The deputy reads what is voted and votes.
        await tablet.wait_for_selector("#choices:not([hidden])", timeout=WAIT_MS)
        assert await tablet.text_content("#vote-kind") == "Голосується поправка 1 до проєкту рішення"
        assert await first.get_attribute("data-status") == "voting"
        assert await first.locator(".amendment-status").text_content() == "голосується зараз"
        ARTIFACTS.mkdir(exist_ok=True)
        await tablet.screenshot(path=str(ARTIFACTS / "tablet-amendment-vote.png"), full_page=True)
        if AXE.exists():  # as in tests/test_accessibility.py (CI always has it): the diff reads out loud too
            assert await serious_violations(tablet, AXE.read_text()) == []
            assert await serious_violations(chair, AXE.read_text()) == []
        await tablet.click(".choice[data-choice=for]")
        await tablet.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
        vote = str((await demo.state())["state"]["votes"][-1]["id"])
        await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote, choice="for") for u in PRESENT))
        await demo.ok("chair", "vote.close", vote=vote)
        await tablet.wait_for_selector("#amendments article[data-amendment=a1][data-status=adopted]", timeout=WAIT_MS)
        assert await first.locator(".amendment-status").text_content() == "прийнята"
        assert await tablet.text_content("#outcome") == "Поправку прийнято (потрібно 18)"
        for path in ("/display/c8-s45", "/live/c8-s45"):  # the chamber's board and the residents' page say it too
            board = await contexts[2].new_page()
            board.on("pageerror", lambda error: errors.append(error))
            await board.goto(f"{origin}{path}")
            await board.wait_for_selector("#outcome:has-text('Поправку прийнято')", timeout=WAIT_MS)
            await board.close()
        assert await second.get_attribute("data-status") == "proposed"
        state = (await demo.state())["state"]
        assert state["votes"][-1]["roll_call"]["d01"] == "for" and state["votes"][-1]["amendments"] == ["a1"]
        await tablet.screenshot(path=str(ARTIFACTS / "tablet-amendment-adopted.png"), full_page=True)

        # The deputy proposes an amendment in the deputy's own name from the tablet, during the debate.
        await tablet.click("#propose-amendment-title")
        await tablet.select_option("#am-op", "insert")
        assert await tablet.is_hidden("#am-to-row")
        await tablet.fill("#amendment-form input[name=from]", "9")  # the draft has 4 lines: refused in words
        await tablet.fill("#amendment-form textarea[name=text]", "5. Оприлюднити рішення на сайті ради.")
        await tablet.fill("#amendment-form textarea[name=reason]", "Прозорість")
        await tablet.click("#am-send")
        refusal = tablet.locator("#amendment-form .panel-status[data-state=error]")
        await refusal.wait_for(timeout=WAIT_MS)
        assert (
            await refusal.text_content()
            == "Поправка не відповідає тексту проєкту: перевірте номери рядків і новий текст."
        )
        await tablet.fill("#amendment-form input[name=from]", "4")
        await tablet.click("#am-send")
        mine = tablet.locator("#amendments article[data-amendment=a3]")
        await mine.wait_for(timeout=WAIT_MS)
        d01 = next(d["name"] for d in (await demo.client.get("/api/v1/council")).json()["deputies"] if d["id"] == "d01")
        assert await mine.locator(".by").text_content() == f"Автор: {d01}"
        assert await mine.locator(".where").text_content() == "Після рядка 4 додати:"
        await tablet.locator("#propose-amendment").scroll_into_view_if_needed()
        await tablet.screenshot(path=str(ARTIFACTS / "tablet-amendment-proposed.png"), full_page=True)

        # «В цілому»: the decision's page shows the consolidated text and its changes to the draft.
        whole = await demo.ok("chair", "vote.open", item="i1", subject="в цілому", seconds=120, kind="whole")
        vote = str(whole["events"][0]["payload"]["vote"])
        await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote, choice="for") for u in ["deputy01", *PRESENT]))
        await demo.ok("chair", "vote.close", vote=vote)
        await demo.ok("chair", "item.finish", item="i1")
        for _ in range(400):
            if (await demo.client.get("/api/v1/documents/pr-101")).json()["status"] == "adopted":
                break
            await asyncio.sleep(0.025)
        portal = await contexts[1].new_page()
        portal.on("pageerror", lambda error: errors.append(error))
        await portal.goto(f"{origin}/decisions/pr-101")
        removed = portal.locator("#changes + p + ol.diff .diff-removed del")
        assert await removed.all_text_contents() == ["2. Збільшити видатки на ремонт шкіл на 10 млн грн."]
        await portal.screenshot(path=str(ARTIFACTS / "portal-decision-amended.png"), full_page=True)
    finally:
        for context in contexts:
            await context.close()
    assert not errors, f"uncaught errors in the pages: {errors}"
