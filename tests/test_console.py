"""The chair's and secretary's console (/console) in headless Chromium against the real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser_support import Browser, Page
from conftest import Demo

from benchmarks._authenticator import Tablet

WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DEPUTIES = [f"deputy{i:02d}" for i in range(1, 19)]


@pytest.fixture
async def console(browser: Browser, demo_council: Demo) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="uk-UA")
    page = await context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def _sign_in(page: Page, demo: Demo, username: str) -> None:
    await page.goto(f"{demo.server.url}/console")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo")
    await page.click("#sign-in-button")
    await page.wait_for_selector("#desk:not([hidden])", timeout=WAIT_MS)
    await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)


async def _status(page: Page, panel: str, text: str) -> None:
    """The outcome shown beside the control: in its panel's status line, announced as an alert."""
    await page.wait_for_selector(f"#{panel} .panel-status[role=alert]:has-text('{text}')", timeout=WAIT_MS)


async def test_the_chair_runs_a_vote_from_the_console(console: Page, demo_council: Demo) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "chair")
    await page.click("#open-session")
    # opening cannot be undone: the console names the sitting and asks
    await page.wait_for_selector("dialog.confirm:has-text('45 сесія')", timeout=WAIT_MS)
    await page.click("dialog.confirm [data-answer=yes]")
    await page.wait_for_selector("#session-status:has-text('Засідання триває')", timeout=WAIT_MS)
    await page.click("#open-registration")
    await page.wait_for_selector("#registration-status:has-text('Реєстрація триває')", timeout=WAIT_MS)

    # no quorum yet: the console says why it refuses to open a vote on the taken-up item
    await page.click("#agenda li:first-child button")
    await page.wait_for_selector("#agenda li[data-status=in_progress]", timeout=WAIT_MS)
    await page.click("#open-vote")
    await _status(page, "vote-panel", "Немає кворуму: голосування не можна розпочати.")

    await asyncio.gather(*(demo.ok(u, "presence.register") for u in DEPUTIES))
    await page.wait_for_selector("#quorum-verdict:has-text('Кворум є')", timeout=WAIT_MS)
    assert (await page.text_content("#quorum") or "").startswith("Зареєстровано 18 депутатів з 34; для кворуму")
    await page.fill("#vote-form input[name=subject]", "в цілому")
    await page.select_option("#rule", "majority_of_composition")
    await page.fill("#vote-form input[name=seconds]", "60")
    await page.click("#open-vote")
    await page.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
    for username, choice in (("deputy01", "for"), ("deputy02", "for"), ("deputy03", "against")):
        await demo.ok(username, "ballot.cast", vote="v1", choice=choice)
    await page.wait_for_selector("#voted:has-text('Проголосували: 3 із 18')", timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-vote-open.png"), full_page=True)

    await page.click("#close-vote")
    # 60 s were given and some are left: closing early asks, naming who has voted
    await page.wait_for_selector("dialog.confirm:has-text('проголосували 3 із 18')", timeout=WAIT_MS)
    await page.click("dialog.confirm [data-answer=yes]")
    await page.wait_for_selector("#vote-result:has-text('Рішення не прийнято (потрібно 18)')", timeout=WAIT_MS)
    assert "За — 2, проти — 1" in (await page.text_content("#vote-result") or "")
    state = (await demo.client.get("/api/v1/sessions/c8-s45")).json()["state"]
    assert state["votes"][0]["status"] == "closed" and state["votes"][0]["subject"] == "в цілому"
    await page.screenshot(path=str(ARTIFACTS / "console-results.png"), full_page=True)


async def test_the_secretary_makes_an_enrollment_link_with_a_qr_code_and_revokes_a_device(
    console: Page, demo_council: Demo
) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "secretary")
    await page.select_option("#deputy", "d05")
    await page.click("#make-link")
    await page.wait_for_selector("#link:not([hidden])", timeout=WAIT_MS)
    url = await page.text_content("#link-url")
    assert url is not None and "/tablet#enroll=" in url
    assert await page.evaluate("document.getElementById('link-qr').naturalWidth") > 100
    token = url.split("#enroll=")[1]

    # the tablet uses the link (soft authenticator); the console then lists and revokes the device
    origin = (await demo.client.get("/api/v1/council")).json()["origins"][0]
    options = await demo.client.post(f"/api/v1/enrollments/{token}/options")
    assert options.status_code == 200, options.text
    enrolled = await demo.client.post(
        f"/api/v1/enrollments/{token}/credential", json=Tablet(origin).register(options.json())
    )
    assert enrolled.status_code == 201, enrolled.text
    await page.reload()
    await page.wait_for_selector("#devices li button", timeout=WAIT_MS)
    await page.click("#devices li button")
    await page.wait_for_selector("#devices li:has-text('відкликано')", timeout=WAIT_MS)
    council = (await demo.client.get("/api/v1/council")).json()
    assert [c["revoked"] for c in council["credentials"]] == [True]


async def test_the_console_refuses_deputies(console: Page, demo_council: Demo) -> None:
    await console.goto(f"{demo_council.server.url}/console")
    await console.fill("input[name=username]", "deputy01")
    await console.fill("input[name=password]", "demo")
    await console.click("#sign-in-button")
    await console.wait_for_selector("#sign-in-status:has-text('для головуючого')", timeout=WAIT_MS)
    assert await console.is_hidden("#desk")


async def test_the_secretary_prepares_the_agenda_until_the_meeting_opens(console: Page, demo_council: Demo) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "secretary")
    await page.wait_for_selector("#item-form:not([hidden])", timeout=WAIT_MS)
    await page.fill("#item-form input[name=number]", "1-1")
    await page.fill("#item-form textarea[name=title]", "Про звернення щодо ремонту дороги")
    await page.fill("#item-form input[name=draft]", "ПР-110")
    await page.fill("#item-form input[name=position]", "2")
    await page.click("#item-save")
    await page.wait_for_selector(
        "#agenda li:nth-child(2):has-text('Про звернення щодо ремонту дороги')", timeout=WAIT_MS
    )

    await page.click("#agenda li:nth-child(4) button:has-text('Змінити')")  # item 3
    await page.fill("#item-form textarea[name=title]", "Про громадський бюджет (нова редакція)")
    await page.click("#item-save")
    await page.wait_for_selector("#agenda li:has-text('нова редакція')", timeout=WAIT_MS)
    await page.click("#agenda li:last-child button:has-text('Вилучити')")  # item 5
    await page.wait_for_selector("#agenda li:nth-child(5)", timeout=WAIT_MS)
    await page.wait_for_selector("#agenda li:nth-child(6)", state="detached", timeout=WAIT_MS)

    agenda = (await demo.state())["state"]["agenda"]
    assert [(i["number"], i["draft"]) for i in agenda] == [
        ("1", "ПР-101"),
        ("1-1", "ПР-110"),
        ("2", "ПР-102"),
        ("3", "ПР-103"),
        ("4", "ПР-104"),
    ]
    assert agenda[3]["title"] == "Про громадський бюджет (нова редакція)"

    await demo.ok("chair", "session.open")
    await page.wait_for_selector("#item-form", state="hidden", timeout=WAIT_MS)
    assert await page.locator("#agenda button:has-text('Вилучити')").count() == 0


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_the_secretary_registers_publishes_and_schedules_a_draft(
    console: Page, demo_council: Demo, tmp_path: Path
) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "secretary")
    await page.wait_for_selector("#documents-panel:not([hidden])", timeout=WAIT_MS)
    await page.click("#register-title")
    await page.fill("#register-form input[name=number]", "ПР-101")
    await page.fill("#register-form input[name=document]", "pr-101")
    await page.fill("#register-form textarea[name=title]", "Про програму «Електронне урядування»")
    await page.fill("#register-form input[name=initiator]", "Виконавчий комітет")
    await page.fill("#register-form input[name=rapporteur]", "Олена Бондар")
    pdf = tmp_path / "proekt.pdf"
    pdf.write_bytes(PDF)
    await page.set_input_files("#register-form input[name=file]", str(pdf))
    await page.click("#register-send")
    row = page.locator("#documents li[data-document=pr-101]")
    await row.locator("a:has-text('PDF')").wait_for(timeout=WAIT_MS)
    await row.locator("button:has-text('Оприлюднити проєкт')").click()
    await page.wait_for_selector("dialog.confirm:has-text('стане доступним мешканцям')", timeout=WAIT_MS)
    await page.click("dialog.confirm [data-answer=yes]")
    await row.locator("text=/проєкт оприлюднено/").wait_for(timeout=WAIT_MS)

    # published today for a session today: too late by art. 15 part 3, so the console asks for a reason
    await row.locator("button:has-text('До порядку денного')").click()
    await page.wait_for_selector("#override-form:not([hidden])", timeout=WAIT_MS)
    await _status(page, "documents-panel", "пізніше ніж за 10 робочих днів")
    await page.fill("#override-form input[name=reason]", "Невідкладне питання")
    await page.click("#override-send")
    await row.locator("text=/у порядку денному/").wait_for(timeout=WAIT_MS)
    document = (await demo.client.get("/api/v1/documents/pr-101")).json()
    assert (document["status"], document["session"], document["item"]) == ("scheduled", "c8-s45", "i1")
    stored = await demo.client.get(f"/api/v1/files/{document['attachments'][0]['sha256']}")
    assert stored.content == PDF


async def test_the_secretary_schedules_a_sitting_with_its_agenda_and_the_chair_can_switch_to_it(
    console: Page, demo_council: Demo
) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "secretary")
    await page.click("#schedule-title")
    form = page.locator("#schedule-form")
    await form.locator("input[name=number]").fill("46")
    await form.locator("input[name=convocation]").fill("8")
    await form.locator("input[name=date]").fill("2026-12-16")
    await form.locator("input[name=title]").fill("46 сесія Вознесенської міської ради VIII скликання")
    await page.fill("#s-rows .agenda-row:first-child input.title", "Про бюджет міста на 2027 рік")
    await page.fill("#s-rows .agenda-row:first-child input.draft", "ПР-120")
    await page.click("#s-add-row")
    await page.fill("#s-rows .agenda-row:nth-child(2) input.title", "Різне")
    await page.click("#s-send")
    await page.wait_for_selector("#sittings-panel .panel-status[data-state=done]:has-text('Заплановано: «46 сесія')")
    await page.wait_for_selector("#sittings li:has-text('16 грудня 2026')", timeout=WAIT_MS)  # the date in words
    state = (await demo.state("c8-s46"))["state"]
    assert (state["number"], state["date"], state["status"]) == (46, "2026-12-16", "scheduled")
    assert [(i["number"], i["title"], i["draft"]) for i in state["agenda"]] == [
        ("1", "Про бюджет міста на 2027 рік", "ПР-120"),
        ("2", "Різне", None),
    ]

    # the same number again: refused beside the form, in words
    await form.locator("input[name=number]").fill("46")
    await form.locator("input[name=convocation]").fill("8")
    await form.locator("input[name=date]").fill("2026-12-17")
    await form.locator("input[name=title]").fill("Двійник")
    await page.fill("#s-rows .agenda-row:first-child input.title", "Щось")
    await page.click("#s-send")
    await _status(page, "sittings-panel", "Засідання з таким номером сесії та скликанням уже заплановано.")

    # the chair picks the sitting the console follows
    await page.select_option("#sitting", "c8-s46")
    await page.wait_for_url("**/console?session=c8-s46", timeout=WAIT_MS)
    await page.wait_for_selector("#session-title:has-text('46 сесія')", timeout=WAIT_MS)


async def test_a_wrong_file_is_refused_before_a_draft_is_registered_and_a_pdf_can_be_added_later(
    console: Page, demo_council: Demo, tmp_path: Path
) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "secretary")
    await page.click("#register-title")
    fields = {"number": "ПР-105", "document": "pr-105", "initiator": "Виконком", "rapporteur": "Олена Бондар"}
    for name, value in fields.items():
        await page.fill(f"#register-form input[name={name}]", value)
    await page.fill("#register-form textarea[name=title]", "Про звіт")
    notes = tmp_path / "notes.txt"
    notes.write_text("не PDF")
    await page.set_input_files("#register-form input[name=file]", str(notes))
    await page.click("#register-send")
    await _status(page, "register-form", "Цей файл не є PDF")
    assert (await demo.client.get("/api/v1/documents/pr-105")).status_code == 404  # nothing registered

    await page.set_input_files("#register-form input[name=file]", [])
    await page.click("#register-send")  # registered without a file …
    row = page.locator("#documents li[data-document=pr-105]")
    await row.wait_for(timeout=WAIT_MS)
    pdf = tmp_path / "proekt.pdf"
    pdf.write_bytes(PDF)
    async with page.expect_file_chooser() as chooser:
        await row.locator("button:has-text('Додати PDF')").click()
    await (await chooser.value).set_files(str(pdf))  # … and its PDF added afterwards
    await row.locator("a:has-text('PDF')").wait_for(timeout=WAIT_MS)
    document = (await demo.client.get("/api/v1/documents/pr-105")).json()
    assert [a["name"] for a in document["attachments"]] == ["proekt.pdf"]


async def test_a_recorded_gender_is_corrected_never_erased_and_the_select_shows_what_is_recorded(
    console: Page, demo_council: Demo
) -> None:
    page, demo = console, demo_council
    await _sign_in(page, demo, "secretary")
    select = page.locator("#members li[data-member=d01] select")
    await select.wait_for(timeout=WAIT_MS)
    assert await select.input_value() == "female"
    assert await select.locator("option[value='']").count() == 0  # nothing to erase it with
    await select.select_option("male")
    await page.wait_for_selector("#members-panel .panel-status[data-state=done]", timeout=WAIT_MS)
    council = (await demo.client.get("/api/v1/council")).json()
    assert next(d for d in council["deputies"] if d["id"] == "d01")["gender"] == "male"


async def test_the_secretary_lets_a_deputy_who_mistyped_the_password_sign_in_at_once(
    console: Page, demo_council: Demo
) -> None:
    page, demo = console, demo_council
    for _ in range(5):  # the deputy mistypes the password again and again: the account must now wait
        await demo.client.post("/api/v1/auth/login", json={"username": "deputy12", "password": "demo1"})
    held = await demo.client.post("/api/v1/auth/login", json={"username": "deputy12", "password": "demo"})
    assert held.status_code == 429
    await _sign_in(page, demo, "secretary")
    assert "неправильних паролів" in (await page.text_content("#unlock-hint") or "")
    await page.fill("#unlock-form input[name=username]", "deputy99")
    await page.click("#unlock-send")
    await _status(page, "devices-panel", "Такого облікового запису немає.")
    await page.fill("#unlock-form input[name=username]", "deputy12")
    await page.click("#unlock-send")
    await page.wait_for_selector("#unlock-form .panel-status:has-text('deputy12 може входити знову.')", timeout=WAIT_MS)
    assert await page.get_attribute("#unlock-form input[name=username]", "aria-invalid") is None
    await page.screenshot(path=str(ARTIFACTS / "console-unlock.png"), full_page=False)
    signed_in = await demo.client.post("/api/v1/auth/login", json={"username": "deputy12", "password": "demo"})
    assert signed_in.status_code == 200


async def test_the_chair_votes_a_draft_as_a_basis_then_as_a_whole_and_a_re_vote_by_the_council_s_decision(
    console: Page, demo_council: Demo
) -> None:
    page, demo = console, demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in DEPUTIES))
    await demo.ok("chair", "item.start", item="i1")
    await _sign_in(page, demo, "chair")

    async def open_vote(kind: str, **choose: str) -> None:
        await page.select_option("#kind", kind)
        for field, value in choose.items():
            await page.select_option(f"#{field}", value)
        await page.fill("#vote-form input[name=seconds]", "60")
        await page.click("#open-vote")

    async def held(vote: str, voters: int) -> None:
        await page.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
        await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote, choice="for") for u in DEPUTIES[:voters]))
        await demo.ok("chair", "vote.close", vote=vote)
        await page.wait_for_selector("#vote-live[hidden]", state="attached", timeout=WAIT_MS)

    # «в цілому» before «за основу» is refused in words; the kind sets the council's threshold
    await open_vote("whole")
    await _status(page, "vote-panel", "Спершу проєкт голосують за основу, а потім — у цілому.")
    await page.select_option("#rule", "majority_of_registered")
    await page.select_option("#kind", "basis")
    assert await page.input_value("#rule") == "majority_of_composition"  # the law's default for a decision
    assert await page.get_attribute("#vote-form input[name=subject]", "placeholder") == "За основу"
    await open_vote("basis")
    await held("v1", 18)
    await open_vote("whole")
    await held("v2", 10)  # not adopted: 10 of 18 needed

    # a re-vote: the procedural question, with the item's last vote on its draft to hold again
    await page.select_option("#kind", "procedural")
    await page.select_option("#purpose", "revote")
    assert await page.is_visible("#revote-row")
    assert "В цілому з урахуванням пропозицій" in (await page.text_content("#revote") or "")
    assert await page.input_value("#rule") == "majority_of_registered"
    await page.screenshot(path=str(ARTIFACTS / "console-revote.png"), full_page=True)
    await page.click("#open-vote")
    # the chamber's display says what is voted, in words, numbering the repeated vote as the minutes do
    display = await page.context.new_page()
    await display.goto(f"{demo.server.url}/display/c8-s45")
    await display.wait_for_selector(
        "#vote-kind:has-text('Процедурне питання: переголосування голосування 2')", timeout=WAIT_MS
    )
    await display.screenshot(path=str(ARTIFACTS / "display-revote.png"))
    await held("v3", 18)
    await display.wait_for_selector("#results-kind:has-text('Процедурне питання: переголосування')", timeout=WAIT_MS)
    # and how the threshold was reached: a procedural vote by those registered, 18 of them
    await display.wait_for_selector(
        "#outcome:has-text('Рішення прийнято (потрібно 10: більшість від зареєстрованих; зареєстровано 18)')",
        timeout=WAIT_MS,
    )
    await open_vote("whole")
    await held("v4", 18)
    await display.wait_for_selector(
        "#results-kind:has-text('Голосується проєкт рішення в цілому з урахуванням пропозицій')", timeout=WAIT_MS
    )
    votes = (await demo.state())["state"]["votes"]
    assert [(v["kind"], v["purpose"], v["revote"], v["subject"]) for v in votes] == [
        ("basis", None, None, "За основу"),
        ("whole", None, None, "В цілому з урахуванням пропозицій"),
        ("procedural", "revote", "v2", "Переголосування"),
        ("whole", None, None, "В цілому з урахуванням пропозицій"),
    ]
    assert [v["tally"]["outcome"] for v in votes] == ["adopted", "rejected", "adopted", "adopted"]
