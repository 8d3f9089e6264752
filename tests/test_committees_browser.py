"""A committee's conclusion seen at the plenary, in headless Chromium (issue 19): the budget committee
concludes on ПР-101 at its own sitting; when the plenary takes the item up, the deputy's tablet and the
chair's console say beside it what the committees concluded (the lead committee first), in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amendments_support import document_command, scheduled_draft
from browser_support import Browser, Pages, sign_in
from committees_support import form_committee, schedule_sitting
from conftest import Demo, eventually

from portal_bridge.demo_drafts import seed_demo_drafts
from session_server import demo as demo_seed

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SITTING = "budget-c8-s1"


async def _concluded_committees(demo: Demo) -> None:
    """Two committees; ПР-101 sent to both (budget leads); the budget committee supports it, at its sitting."""
    for committee, name, members, lead in (
        ("budget", "Постійна комісія з питань бюджету та фінансів", ["d01", "d02", "d03"], True),
        ("land", "Постійна комісія з питань земельних відносин", ["d04", "d05", "d06"], False),
    ):
        await form_committee(demo, committee, name, members)
        sent = await document_command(
            demo, "secretary", f"assign-{committee}", "draft.assign", committee=committee, lead=lead
        )
        assert sent.status_code == 200, sent.text
    assert await schedule_sitting(demo, "budget", [("Про ПР-101", "ПР-101")]) == SITTING

    async def ok(user: str, type_: str, **fields: Any) -> None:
        response = await demo.command(user, type_, session=SITTING, **fields)
        assert response.status_code == 200, response.text

    await ok("deputy01", "session.open")
    await ok("deputy01", "registration.open")
    for user in ("deputy01", "deputy02", "deputy03"):
        await ok(user, "presence.register")
    await ok("deputy01", "item.start", item="i1")
    # a member's amendment, which the committee's conclusion proposes to the plenary
    change = {"op": "replace", "from": 2, "to": 2, "text": "2. Збільшити видатки на ремонт шкіл на 12 млн грн."}
    proposed = await document_command(
        demo, "deputy02", "amend-schools", "amendment.propose", reason="Ще дві школи", changes=[change]
    )
    assert proposed.status_code == 200, proposed.text
    await ok(
        "deputy01",
        "vote.open",
        item="i1",
        subject="Висновок",
        kind="conclusion",
        recommendation="support",
        amendments=["a1"],
        seconds=60,
    )
    for user in ("deputy01", "deputy02"):
        await ok(user, "ballot.cast", vote="v1", choice="for")
    await ok("deputy01", "vote.close", vote="v1")

    async def recorded() -> bool:
        return bool((await demo.client.get("/api/v1/documents/pr-101")).json()["conclusions"])

    await eventually(recorded, "the committee's conclusion on ПР-101")


async def test_the_plenary_sees_the_committees_conclusions_beside_the_item(
    browser: Browser, demo_council: Demo
) -> None:
    demo = demo_council
    await scheduled_draft(demo)
    await _concluded_committees(demo)
    expected = [
        "Постійна комісія з питань бюджету та фінансів (головна): рекомендує підтримати; пропонує поправку 1.",
        "Постійна комісія з питань земельних відносин: висновку ще немає.",
    ]
    async with Pages(browser) as pages:
        tablet = await pages.open(1280, 800, locale="uk-UA")
        await tablet.goto(f"{demo.server.url}/tablet?session=c8-s45")
        await sign_in(tablet, "deputy07", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
        console = await pages.open(1440, 900, locale="uk-UA")
        await console.goto(f"{demo.server.url}/console?session=c8-s45")
        await sign_in(console, "chair", "#desk:not([hidden])", wait_ms=WAIT_MS)
        await demo.ok("chair", "session.open")
        await demo.ok("chair", "item.start", item="i1")
        for page, name in ((tablet, "tablet"), (console, "console")):
            await page.wait_for_selector("#conclusions:not([hidden]) li", timeout=WAIT_MS)
            assert await page.locator("#conclusions li").all_text_contents() == expected
            assert await page.text_content("#conclusions .conclusions-title") == (
                "Висновки постійних комісій щодо проєкту ПР-101:"
            )
            # the amendment the lead committee proposes says so, for the council to vote it
            proposed_by = page.locator("article.amendment[data-amendment=a1] .proposed-by")
            await proposed_by.wait_for(state="attached", timeout=WAIT_MS)
            assert await proposed_by.text_content() == (
                "У висновку її пропонує: Постійна комісія з питань бюджету та фінансів"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / f"{name}-conclusions.png"))
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"
    # the same words on the draft's page of the portal and in the plenary's minutes, beside the item
    page = (await demo.client.get("/decisions/pr-101")).text
    minutes = (await demo.client.get("/sessions/c8-s45/minutes")).text
    for line in expected:
        assert f"<li>{line}</li>" in page and f"<li>{line}</li>" in minutes
    assert "У висновку її пропонує: Постійна комісія з питань бюджету та фінансів." in page


async def test_a_committee_s_chair_runs_its_sitting_from_the_console_and_concludes(
    browser: Browser, demo_council: Demo
) -> None:
    demo = demo_council
    kvorum = demo.server.kvorum
    await demo_seed.seed_committees(kvorum)
    await seed_demo_drafts(kvorum.core())
    async with Pages(browser) as pages:
        page = await pages.open(1440, 900, locale="uk-UA")
        await page.goto(f"{demo.server.url}/console")
        await sign_in(page, "deputy01", "#desk:not([hidden])", wait_ms=WAIT_MS)  # the budget committee's chair
        assert await page.is_hidden("#office")  # no secretary's panels for a committee's chair
        offered = await page.locator("#sitting option").all_text_contents()
        assert len(offered) == 1 and "бюджету" in offered[0]  # only the sittings of the committee it chairs
        # the next step speaks of the committee's members, not the council's deputies
        assert await page.text_content("#next-text") == (
            "Засідання комісії заплановано. Коли члени комісії зберуться, відкрийте його."
        )
        await page.click("#open-session")
        await page.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
        await page.wait_for_selector(
            "#next-text:has-text('Засідання відкрито. Розпочніть реєстрацію членів комісії.')", timeout=WAIT_MS
        )
        await page.click("#open-registration", timeout=WAIT_MS)
        await page.wait_for_selector("#registration-status:has-text('Реєстрація триває')", timeout=WAIT_MS)
        await page.wait_for_selector(
            "#next-text:has-text('Дочекайтеся, поки зареєструються члени комісії.')", timeout=WAIT_MS
        )
        for n in range(1, 6):
            response = await demo.command(f"deputy{n:02d}", "presence.register", session="budget-c8-s1")
            assert response.status_code == 200, response.text
        await page.wait_for_selector("#quorum:has-text('Зареєстровано 5 членів комісії з 7')", timeout=WAIT_MS)
        council = (await demo.client.get("/api/v1/council")).json()
        names = {d["id"]: d["name"] for d in council["deputies"]}
        assert await page.text_content("#registered-title") == "Зареєстровані (5)"
        assert await page.locator("#registered li").all_text_contents() == [names[f"d{n:02d}"] for n in range(1, 6)]
        await page.click("#close-registration")
        assert await page.text_content("dialog.confirm #confirm-text") == (
            "Члени комісії, які ще не зареєструвалися (2), не зможуть зареєструватися й голосувати,"
            " доки реєстрацію не розпочнуть знову."
        )
        await page.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
        await page.wait_for_selector("#registration-status:not(:has-text('Реєстрація триває'))", timeout=WAIT_MS)
        # a member's amendment to the draft, for the committee to propose in its conclusion
        amendment = await demo.client.post(
            "/api/v1/documents/pr-102/commands",
            json={
                "id": "amend-schools",
                "type": "amendment.propose",
                "reason": "Ще дві школи",
                "changes": [{"op": "replace", "from": 2, "to": 2, "text": "2. Збільшити видатки на 12 млн грн."}],
            },
            headers=await demo.headers("deputy02"),
        )
        assert amendment.status_code == 200, amendment.text
        await page.click("#agenda li:first-child button")
        await page.wait_for_selector("#agenda li[data-status=in_progress]", timeout=WAIT_MS)
        await page.wait_for_selector(
            "#next-text:has-text('Проголосуйте висновок комісії щодо проєкту ПР-102.')", timeout=WAIT_MS
        )
        await page.click("#next-actions [data-action=prepare_conclusion]")
        assert await page.locator("#kind option").all_text_contents() == ["Висновок комісії", "Процедурне"]
        assert await page.locator("#rule option").all_text_contents() == ["більшість від складу комісії (ст. 47)"]
        assert await page.input_value("#kind") == "conclusion"
        await page.select_option("#recommendation", "rework")
        await page.wait_for_selector("#amendments-row:not([hidden]) input[value=a1]", timeout=WAIT_MS)
        assert await page.text_content("#amendments-legend") == "Поправки, які висновок пропонує раді (за потреби)"
        await page.check("#amendment-choices input[value=a1]")
        await page.fill("#vote-form input[name=seconds]", "60")
        await page.click("#open-vote")
        await page.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
        for n in range(1, 5):
            response = await demo.command(
                f"deputy{n:02d}", "ballot.cast", session="budget-c8-s1", vote="v1", choice="for"
            )
            assert response.status_code == 200, response.text
        await page.click("#close-vote")
        await page.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
        await page.wait_for_selector("#vote-result:not(:empty)", timeout=WAIT_MS)
        assert await page.text_content("#vote-result .big") == (
            "Висновок «повернути на доопрацювання» ухвалено (потрібно 4)"
        )
        await page.wait_for_selector(
            "#next-text:has-text('Висновок комісії щодо проєкту ПР-102 ухвалено. Завершіть розгляд питання.')",
            timeout=WAIT_MS,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-committee.png"), full_page=True)
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"

    async def recorded() -> list[Any]:
        return list((await demo.client.get("/api/v1/documents/pr-102")).json()["conclusions"])

    [conclusion] = await eventually(recorded, "the conclusion the chair's console opened")
    assert (conclusion["recommendation"], conclusion["adopted"], conclusion["amendments"]) == ("rework", True, ["a1"])


async def test_the_secretary_sends_a_draft_to_its_lead_committee_from_the_console(
    browser: Browser, demo_council: Demo
) -> None:
    demo = demo_council
    await scheduled_draft(demo)
    await form_committee(demo, "budget", "Постійна комісія з питань бюджету та фінансів", ["d01", "d02", "d03"])
    await form_committee(demo, "land", "Постійна комісія з питань земельних відносин", ["d04", "d05", "d06"])
    async with Pages(browser) as pages:
        page = await pages.open(1440, 900, locale="uk-UA")
        await page.goto(f"{demo.server.url}/console")
        await sign_in(page, "secretary", "#office:not([hidden])", wait_ms=WAIT_MS)
        draft = page.locator("#documents li[data-document=pr-101]")
        await draft.locator("select").select_option("budget")
        await draft.get_by_role("button", name="Направити до головної комісії").click()
        await page.wait_for_selector(
            "#documents li[data-document=pr-101]:has-text('Направлено до комісій: "
            "Постійна комісія з питань бюджету та фінансів (головна)')",
            timeout=WAIT_MS,
        )
        await draft.get_by_role("button", name="Направити до комісії для висновку").click()  # land, for its opinion
        await page.wait_for_selector(
            "#documents li[data-document=pr-101]:has-text('Постійна комісія з питань земельних відносин')",
            timeout=WAIT_MS,
        )
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"
    document = (await demo.client.get("/api/v1/documents/pr-101")).json()
    assert document["committees"] == {"budget": True, "land": False}


async def test_the_secretary_forms_a_committee_from_the_console_and_a_wrong_one_is_refused_in_words(
    browser: Browser, demo_council: Demo
) -> None:
    demo = demo_council
    async with Pages(browser) as pages:
        page = await pages.open(1440, 900, locale="uk-UA")
        await page.goto(f"{demo.server.url}/console")
        await sign_in(page, "secretary", "#office:not([hidden])", wait_ms=WAIT_MS)
        await page.click("#committee-new-title")
        form = page.locator("#committee-form")
        await form.locator("input[name=name]").fill("Постійна комісія з питань регламенту та етики")
        await form.locator("input[name=committee]").fill("regulations")
        await form.locator("input[name=composition]").fill("2")
        for member in ("d15", "d16", "d17"):  # three members for two seats: refused
            await form.locator(f"input[name=members][value={member}]").check()
        await page.select_option("#committee-chair", "d15")
        await page.select_option("#committee-secretary", "d17")
        await page.click("#committee-send")
        await page.wait_for_selector("#committee-form .panel-status[data-state=error]", timeout=WAIT_MS)
        refusal = await page.text_content("#committee-form .panel-status") or ""
        assert refusal.startswith("Склад комісії вказано неправильно")
        await form.locator("input[name=composition]").fill("3")
        await page.click("#committee-send")
        await page.wait_for_selector(
            "#committee-list li:has-text('Постійна комісія з питань регламенту та етики')", timeout=WAIT_MS
        )
        # and schedules the committee's first sitting with the same form as the council's
        await page.click("#schedule-title")
        schedule = page.locator("#schedule-form")
        await schedule.locator("input[name=number]").fill("1")
        await schedule.locator("input[name=convocation]").fill("8")
        await schedule.locator("input[name=date]").fill("2026-12-15")
        await page.select_option("#s-body", "regulations")
        await schedule.locator("input[name=title]").fill("Засідання комісії з питань регламенту")
        await page.fill("#s-rows .agenda-row:first-child input.title", "Про звернення депутатів")
        await page.click("#s-send")
        await page.wait_for_selector("#sittings li:has-text('Засідання комісії з питань регламенту')", timeout=WAIT_MS)
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"
    sittings = {s["id"]: s for s in (await demo.client.get("/api/v1/sessions")).json()["sessions"]}
    assert sittings["regulations-c8-s1"]["committee"] == "regulations"
    [committee] = (await demo.client.get("/api/v1/council")).json()["committees"]
    assert (
        committee["id"],
        committee["members"],
        committee["chair"],
        committee["deputy_chair"],
        committee["secretary"],
    ) == (
        "regulations",
        ["d15", "d16", "d17"],
        "d15",
        None,
        "d17",
    )


async def test_members_vote_on_their_tablets_at_a_committee_s_sitting_and_a_guest_deputy_is_told_why_not(
    browser: Browser, demo_council: Demo
) -> None:
    demo = demo_council
    members = ["d01", "d02", "d03", "d04"]
    await form_committee(demo, "budget", "Постійна комісія з питань бюджету та фінансів", members)
    await schedule_sitting(demo, "budget", [("Про бюджет", "ПР-102")])
    async with Pages(browser) as pages:
        display = await pages.open(1920, 1080, locale="uk-UA")
        await display.goto(f"{demo.server.url}/display/{SITTING}")
        member = await pages.open(1280, 800, locale="uk-UA")
        await member.goto(f"{demo.server.url}/tablet?session={SITTING}")
        await sign_in(member, "deputy02", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
        guest = await pages.open(1280, 800, locale="uk-UA")
        await guest.goto(f"{demo.server.url}/tablet?session={SITTING}")
        await sign_in(guest, "deputy10", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)

        async def chair(type_: str, **fields: Any) -> None:
            response = await demo.command("deputy01", type_, session=SITTING, **fields)
            assert response.status_code == 200, response.text

        await chair("session.open")
        await chair("registration.open")
        await member.click("#register", timeout=WAIT_MS)
        await member.wait_for_selector("#registered-note:not([hidden])", timeout=WAIT_MS)
        for other in ("deputy01", "deputy03"):
            assert (await demo.command(other, "presence.register", session=SITTING)).status_code == 200
        await guest.wait_for_selector("#registered-note:has-text('Ви не член цієї комісії')", timeout=WAIT_MS)
        assert await guest.is_hidden("#register")
        await member.wait_for_selector("#quorum:has-text('Зареєстровано 3 члени комісії з 4')", timeout=WAIT_MS)
        await chair("item.start", item="i1")
        await chair("vote.open", item="i1", subject="Висновок", kind="conclusion", recommendation="reject", seconds=60)
        await member.wait_for_selector(
            "#vote-kind:has-text('Голосується висновок комісії щодо проєкту рішення: відхилити')", timeout=WAIT_MS
        )
        await member.click(".choice[data-choice=for]")
        await member.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
        assert await guest.locator(".choice[data-choice=for]").is_disabled()  # a guest never votes
        await chair("vote.close", vote="v1")
        await member.wait_for_selector("#outcome:has-text('Висновок «відхилити» ')", timeout=WAIT_MS)
        ARTIFACTS.mkdir(exist_ok=True)
        await member.screenshot(path=str(ARTIFACTS / "tablet-committee.png"))
        # the committee's own display states the committee's composition, not the council's
        await display.wait_for_selector("#results-panel:not([hidden])", timeout=WAIT_MS)
        assert await display.text_content("#composition") == (
            "Склад комісії для підрахунку голосів — 4 члени"
            " (ст. 47 Закону України «Про місцеве самоврядування в Україні»)."
        )
        # a member with a declared conflict: 2 of 4 left registered still make the committee's quorum (not
        # less than half, art. 47), so the member does not vote (art. 59-1), as the server decides
        declared = await demo.command("deputy02", "conflict.declare", session=SITTING, item="i1", reason="родич")
        assert declared.status_code == 200, declared.text
        await chair("vote.open", item="i1", subject="Висновок", kind="conclusion", recommendation="rework", seconds=60)
        await member.wait_for_selector("#ballot-rule[data-conflict=barred]", timeout=WAIT_MS)
        assert "тому не голосуєте з нього" in (await member.text_content("#ballot-rule") or "")
        barred = await demo.command("deputy02", "ballot.cast", session=SITTING, vote="v2", choice="for")
        assert (barred.status_code, barred.json()["error"]) == (409, "conflict_declared")
        assert not pages.errors, f"uncaught errors in the pages: {pages.errors}"
    vote = (await demo.client.get(f"/api/v1/sessions/{SITTING}")).json()["state"]["votes"][0]
    assert vote["roll_call"]["d02"] == "for" and "d10" not in vote["roll_call"]
