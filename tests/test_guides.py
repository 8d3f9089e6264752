"""The pictures of the Ukrainian guides (docs/uk/) come from the screens themselves, taken here.

A short sitting is run through the screens as the guides tell people to run it: the secretary
schedules a sitting and records the members, the chair follows «Наступний крок», a deputy enrolls a
tablet, registers and votes (also with the network down), the display and the live page show the
result, residents read it on the portal. Each step's picture goes to test-artifacts/guides/, or to
the folder named by KVORUM_GUIDE_IMAGES (`KVORUM_GUIDE_IMAGES=docs/uk/img make test` refreshes the
guides' pictures). Every picture a guide shows must be one this test takes, so the guides never
show a screen that no longer exists.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from browser_support import Browser, Page, Pages, sign_in, signed_ballots_at_localhost
from conftest import Demo, eventually
from witness_support import WitnessProcess

from portal_bridge.demo_drafts import seed_demo_drafts
from session_server import demo as demo_seed

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "docs" / "uk"
OUT = Path(os.environ.get("KVORUM_GUIDE_IMAGES") or ROOT / "test-artifacts" / "guides")
WAIT_MS = 20_000


class Camera(Pages):
    """Pages as a Ukrainian resident's browser shows them (locale, Kyiv time), and the pictures taken."""

    def __init__(self, browser: Browser) -> None:
        super().__init__(browser)
        self.taken: set[str] = set()

    async def page(self, width: int, height: int, *, authenticator: bool = False, mobile: bool = False) -> Page:
        return await self.open(
            width, height, authenticator=authenticator, is_mobile=mobile, locale="uk-UA", timezone_id="Europe/Kyiv"
        )

    async def shot(self, page: Page, name: str, *, full: bool = False) -> None:
        await asyncio.to_thread(OUT.mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
        self.taken.add(f"{name}.png")


@pytest.fixture
async def camera(browser: Browser, demo_council: Demo) -> AsyncIterator[Camera]:
    async with Camera(browser) as taken:
        yield taken


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[list[WitnessProcess]]:
    made = [WitnessProcess(tmp_path / name, name=name) for name in ("witness.ngo.example", "archive.oblast.example")]
    yield made
    for witness in made:
        witness.stop()


@pytest.mark.timeout(300)
async def test_the_guides_pictures_are_taken_from_the_screens_as_the_guides_describe_them(
    camera: Camera, demo_council: Demo, witnesses: list[WitnessProcess]
) -> None:
    demo = demo_council
    origin = await signed_ballots_at_localhost(demo)
    draft = {
        "id": "reg",
        "document": "pr-101",
        "number": "ПР-101",
        "title": "Про затвердження міської програми «Електронне урядування»",
        "initiator": "Виконавчий комітет",
        "rapporteur": "Олена Бондар",
        "text": "1. Затвердити програму на 2027–2029 роки.\n2. Фінансувати програму з міського бюджету.\n"
        "3. Контроль покласти на постійну комісію з питань бюджету.",
    }
    registered = await demo.client.post("/api/v1/documents", json=draft, headers=await demo.headers("secretary"))
    assert registered.status_code == 201, registered.text
    # Two independent witnesses cosign the ledger (docs/witness.md), as the council lists them.
    listed = []
    for witness in witnesses:
        witness.follow("kvorum.localhost/voznesensk", demo.server.kvorum.ledger.signer.vkey)
        witness.start()
        listed.append({"name": witness.folder.name, "url": witness.url, "key": witness.vkey})
    configured = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "witnesses", "type": "council.configure", "witnesses": listed, "witnesses_needed": 2},
        headers=await demo.headers("admin"),
    )
    assert configured.status_code == 200, configured.text

    # The secretary: a new sitting with its agenda, the members' records, a tablet's enrollment link.
    secretary = await camera.page(1440, 900)
    await secretary.goto(f"{origin}/console")
    await sign_in(secretary, "secretary", "#office:not([hidden])")
    await secretary.click("#schedule-title")
    form = secretary.locator("#schedule-form")
    await form.locator("input[name=number]").fill("46")
    await form.locator("input[name=convocation]").fill("8")
    await form.locator("input[name=date]").fill("2026-12-16")
    await form.locator("input[name=title]").fill("46 сесія Вознесенської міської ради VIII скликання")
    await secretary.fill("#s-rows .agenda-row:first-child input.title", "Про бюджет міста на 2027 рік")
    await secretary.fill("#s-rows .agenda-row:first-child input.draft", "ПР-120")
    await secretary.click("#s-add-row")
    await secretary.fill("#s-rows .agenda-row:nth-child(2) input.title", "Про звіт міського голови")
    await secretary.locator("#sittings-panel").scroll_into_view_if_needed()
    await camera.shot(secretary, "secretary-schedule")
    await secretary.click("#s-send")
    await secretary.wait_for_selector("#sittings li:has-text('46 сесія')", timeout=WAIT_MS)
    await secretary.locator("#members-panel").scroll_into_view_if_needed()
    await camera.shot(secretary, "secretary-members")
    link = await demo.client.post(
        "/api/v1/enrollments", json={"deputy": "d03"}, headers=await demo.headers("secretary")
    )
    token = link.json()["token"]
    await secretary.select_option("#deputy", "d05")
    await secretary.click("#make-link")
    await secretary.wait_for_selector("#link:not([hidden])", timeout=WAIT_MS)
    await secretary.locator("#devices-panel").scroll_into_view_if_needed()
    await camera.shot(secretary, "secretary-devices")
    # A deputy's amendment, submitted in writing, entered as a change to the draft's numbered lines.
    await secretary.click("#amendment-title")
    await secretary.select_option("#am-draft", "pr-101")
    await secretary.select_option("#am-author", "d07")
    await secretary.fill("#amendment-form input[name=from]", "2")
    await secretary.fill("#amendment-form input[name=to]", "2")
    await secretary.fill(
        "#amendment-form textarea[name=text]", "2. Фінансувати програму з міського бюджету та коштів донорів."
    )
    await secretary.fill("#amendment-form textarea[name=reason]", "Залучити міжнародну допомогу")
    await secretary.locator("#amendment-form").scroll_into_view_if_needed()
    await camera.shot(secretary, "secretary-amendment")
    await secretary.click("#am-send")
    await secretary.wait_for_selector("#documents-panel .panel-status:has-text('Виконано')", timeout=WAIT_MS)

    # A deputy's tablet: enrolled from the link, signed in.
    tablet = await camera.page(1280, 800, authenticator=True)
    await tablet.goto(f"{origin}/tablet#enroll={token}")
    await camera.shot(tablet, "deputy-enroll")
    await tablet.click("#enroll-button")
    await tablet.wait_for_selector("#enroll-status:has-text('Пристрій зареєстровано')", timeout=WAIT_MS)
    await sign_in(tablet, "deputy03", "#chamber:not([hidden])")

    # The chair follows «Наступний крок».
    chair = await camera.page(1440, 900)
    await chair.goto(f"{origin}/console?session=c8-s45")
    await sign_in(chair, "chair", "#next-actions [data-action=openSession]")
    await camera.shot(chair, "chair-next-step")
    await chair.click("#next-actions [data-action=openSession]")
    await chair.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
    await chair.click("#next-actions [data-action=openRegistration]", timeout=WAIT_MS)
    await tablet.click("#register", timeout=WAIT_MS)
    await tablet.wait_for_selector("#registered-note:not([hidden])", timeout=WAIT_MS)
    await camera.shot(tablet, "deputy-registered")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in (1, 2, *range(4, 20))))
    await chair.wait_for_selector("#quorum-verdict[data-quorum=yes]", timeout=WAIT_MS)
    await chair.click("#next-actions [data-action=closeRegistration]")
    await chair.wait_for_selector("dialog.confirm", timeout=WAIT_MS)
    await camera.shot(chair, "chair-confirm")
    await chair.click("dialog.confirm [data-answer=yes]")
    await chair.click("#next-actions [data-action=startItem]", timeout=WAIT_MS)
    # the draft's amendments beside the vote form, each change as the draft's lines struck and added
    await chair.select_option("#kind", "amendment")
    await chair.click("#draft-amendments-title")
    await chair.locator("#vote-panel").scroll_into_view_if_needed()
    await camera.shot(chair, "chair-amendment")
    # the console offers the draft's sequence: «за основу», or «за основу та в цілому» at once
    await chair.click("#next-actions [data-action=prepare_basis_and_whole]", timeout=WAIT_MS)
    assert await chair.input_value("#kind") == "basis_and_whole"
    await chair.click("#open-vote")
    await chair.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)

    display = await camera.page(1920, 1080)
    await display.goto(f"{origin}/display")
    await display.wait_for_selector("#vote-panel:not([hidden])", timeout=WAIT_MS)
    await camera.shot(display, "display-vote")

    # The deputy votes; then the network drops and a changed vote waits, then counts.
    await tablet.click(".choice[data-choice=for]")
    await tablet.wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
    await camera.shot(tablet, "deputy-counted")
    await tablet.context.set_offline(True)
    await tablet.wait_for_selector("#connection[data-status=closed]", timeout=WAIT_MS)
    await tablet.click(".choice[data-choice=against]")
    await tablet.wait_for_selector("#ballot-status[data-state=retrying]", timeout=WAIT_MS)
    await camera.shot(tablet, "deputy-offline")
    await tablet.context.set_offline(False)
    await tablet.wait_for_selector("#ballot-status[data-state=counted]:has-text('Проти')", timeout=WAIT_MS)
    await camera.shot(chair, "chair-vote")
    await chair.click("#next-actions [data-action=closeVote]")
    await chair.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
    await chair.wait_for_selector("#vote-result h3", timeout=WAIT_MS)
    await tablet.wait_for_selector("#results:not([hidden])", timeout=WAIT_MS)
    await camera.shot(tablet, "deputy-results")
    await tablet.wait_for_selector("#receipt-line[data-state=kept]", timeout=WAIT_MS)  # checked, witnessed, kept
    await tablet.click("#receipt-show-qr")
    await tablet.locator("#receipt").scroll_into_view_if_needed()
    await camera.shot(tablet, "deputy-receipt")
    await secretary.click("#witnesses-refresh")
    await secretary.wait_for_selector("#witness-health li:has-text('Усі журнали засвідчено')", timeout=WAIT_MS)
    await secretary.locator("#witnesses-panel").scroll_into_view_if_needed()
    await camera.shot(secretary, "secretary-witnesses")
    await display.wait_for_selector("#results-panel:not([hidden])", timeout=WAIT_MS)
    await camera.shot(display, "display-results")
    live = await camera.page(390, 844, mobile=True)
    await live.goto(f"{origin}/live")
    await live.wait_for_selector("#vote-results:not([hidden])", timeout=WAIT_MS)
    await camera.shot(live, "resident-live")

    # A new item proposed for the open sitting's agenda: the council votes on including it.
    await chair.click("#propose-title")
    await chair.fill("#propose-form input[name=number]", "6")
    await chair.fill("#propose-form textarea[name=title]", "Про звернення щодо освітлення вулиці Шевченка")
    await chair.locator("#agenda-panel").scroll_into_view_if_needed()
    await camera.shot(chair, "chair-propose")
    await chair.click("#next-actions [data-action=finishItem]")
    await chair.click("dialog.confirm [data-answer=yes]", timeout=WAIT_MS)
    await chair.wait_for_selector("#agenda li[data-item=i1][data-status=done]", timeout=WAIT_MS)

    # The operator's page, and what residents read on the portal.
    operator = await camera.page(1280, 800)
    await operator.goto(f"{origin}/broadcast")
    await sign_in(operator, "operator", "#desk:not([hidden])")
    await camera.shot(operator, "operator-broadcast")
    portal = await camera.page(1280, 900)
    await portal.goto(f"{origin}/sessions/c8-s45")
    await camera.shot(portal, "resident-session", full=True)
    await portal.goto(f"{origin}/sessions/c8-s45/minutes")
    await camera.shot(portal, "resident-minutes")
    # The administrator: what is kept, how much, until when (after the sitting, its checkpoints and cosignatures).
    admin = await camera.page(1440, 900)
    await admin.goto(f"{origin}/console")
    await sign_in(admin, "admin", "#storage-rows tr[data-kind=cosignatures]")
    await admin.locator("#storage-panel").scroll_into_view_if_needed()
    await camera.shot(admin, "admin-storage")

    # Every picture the guides show was taken just now.
    shown = set()
    for guide in GUIDES.glob("*.md"):
        shown |= set(re.findall(r"\(img/([a-z0-9-]+\.png)\)", guide.read_text()))
    assert shown, "the guides show no pictures"
    missing = shown - COMMITTEE_PICTURES - SECRET_PICTURES - camera.taken
    assert not missing, f"pictures the guides show but no screen gives: {sorted(missing)}"


COMMITTEE_PICTURES = {"secretary-committees.png", "chair-committee.png", "resident-committee.png"}
"""The pictures of a standing committee's screens, taken by the test below."""


@pytest.mark.timeout(180)
async def test_the_committee_pictures_are_taken_as_the_guides_describe_a_committee_s_sitting(
    camera: Camera, demo_council: Demo
) -> None:
    """The demo's committees: the secretary's panel, the committee chair's console voting a conclusion that
    proposes a member's amendment, and the committee's page on the portal afterwards."""
    demo = demo_council
    kvorum = demo.server.kvorum
    await demo_seed.seed_committees(kvorum)
    await seed_demo_drafts(kvorum.core())
    origin = demo.server.url
    secretary = await camera.page(1280, 900)
    await secretary.goto(f"{origin}/console")
    await sign_in(secretary, "secretary", "#office:not([hidden])", wait_ms=WAIT_MS)
    await secretary.wait_for_selector("#committee-list li", timeout=WAIT_MS)
    await secretary.click("#committee-new-title")
    await secretary.locator("#committees-panel").scroll_into_view_if_needed()
    await camera.shot(secretary, "secretary-committees")

    sitting = "budget-c8-s1"
    chair = await camera.page(1440, 900)
    await chair.goto(f"{origin}/console?session={sitting}")
    await sign_in(chair, "deputy01", "#desk:not([hidden])", wait_ms=WAIT_MS)  # the budget committee's chair
    for type_, fields in (("session.open", {}), ("registration.open", {})):
        assert (await demo.command("deputy01", type_, session=sitting, **fields)).status_code == 200
    for n in range(1, 7):
        assert (await demo.command(f"deputy{n:02d}", "presence.register", session=sitting)).status_code == 200
    assert (await demo.command("deputy01", "registration.close", session=sitting)).status_code == 200
    amendment = await demo.client.post(
        "/api/v1/documents/pr-102/commands",
        json={
            "id": "amend-schools",
            "type": "amendment.propose",
            "reason": "Ремонт ще двох шкіл",
            "changes": [
                {"op": "replace", "from": 2, "to": 2, "text": "2. Збільшити видатки на ремонт шкіл на 12 млн грн."}
            ],
        },
        headers=await demo.headers("deputy02"),
    )
    assert amendment.status_code == 200, amendment.text
    await chair.click("#agenda li:first-child button")
    await chair.click("#next-actions [data-action=prepare_conclusion]", timeout=WAIT_MS)
    await chair.wait_for_selector("#amendments-row:not([hidden]) input[value=a1]", timeout=WAIT_MS)
    await chair.check("#amendment-choices input[value=a1]")
    await chair.fill("#vote-form input[name=subject]", "Підтримати проєкт з поправкою 1")
    await camera.shot(chair, "chair-committee")
    await chair.fill("#vote-form input[name=seconds]", "60")
    await chair.click("#open-vote")
    await chair.wait_for_selector("#vote-live:not([hidden])", timeout=WAIT_MS)
    for n in range(1, 6):
        cast = await demo.command(f"deputy{n:02d}", "ballot.cast", session=sitting, vote="v1", choice="for")
        assert cast.status_code == 200, cast.text
    assert (await demo.command("deputy01", "vote.close", session=sitting, vote="v1")).status_code == 200
    assert (await demo.command("deputy01", "item.finish", session=sitting, item="i1")).status_code == 200

    portal = await camera.page(1280, 900)

    async def concluded() -> bool:
        await portal.goto(f"{origin}/committees/budget")
        return "пропонує поправку 1" in (await portal.content())

    await eventually(concluded, "the budget committee's conclusion on its page")
    await camera.shot(portal, "resident-committee", full=True)
    assert camera.taken == COMMITTEE_PICTURES
    shown = set()
    for guide in GUIDES.glob("*.md"):
        shown |= set(re.findall(r"\(img/([a-z0-9-]+\.png)\)", guide.read_text()))
    assert COMMITTEE_PICTURES <= shown, f"committee pictures no guide shows: {sorted(COMMITTEE_PICTURES - shown)}"
    assert not camera.errors, f"uncaught errors in the pages: {camera.errors}"


SECRET_PICTURES = {"chair-secret.png", "deputy-commission.png"}
"""The pictures of a secret ballot's screens, taken by the test below."""


@pytest.mark.timeout(180)
async def test_the_secret_ballot_pictures_are_taken_as_the_guides_describe_them(
    camera: Camera, demo_council: Demo
) -> None:
    """The demo's secret questions: the chair's console with the counting commission's key made and a secret
    vote about to open, and a commission member's tablet once the vote is closed and waits to be decrypted."""
    demo = demo_council
    origin = demo.server.url
    members = ["d01", "d02", "d03"]
    tablets = {}
    for member in members:
        tablet = await camera.page(1280, 900)
        await tablet.goto(f"{origin}/tablet")
        await sign_in(tablet, f"deputy{member[1:]}", "#chamber:not([hidden])", connected=True, wait_ms=WAIT_MS)
        tablets[member] = tablet
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("secretary", "registration.close")
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "commission.elect", members=members, threshold=2)
    for member in members:
        await tablets[member].click("#commission-act", timeout=WAIT_MS)
    for member in members:
        await tablets[member].wait_for_selector(
            "#commission-status:has-text('Ключ лічильної комісії створено')", timeout=WAIT_MS
        )
    chair = await camera.page(1280, 1000)
    await chair.goto(f"{origin}/console?session=c8-s45")
    await sign_in(chair, "chair", "#desk:not([hidden])", wait_ms=WAIT_MS)
    await chair.wait_for_selector("#commission-line[data-stage=keyed]", timeout=WAIT_MS)
    await chair.select_option("#kind", "basis_and_whole")
    await chair.check("#secret")
    await chair.fill("#vote-form input[name=subject]", "Обрання секретаря ради")
    await chair.locator("#vote-panel").scroll_into_view_if_needed()
    await camera.shot(chair, "chair-secret")
    await chair.click("#open-vote")
    for member, choice in (("d01", "for"), ("d02", "for"), ("d03", "against")):
        await tablets[member].click(f".choice[data-choice={choice}]", timeout=WAIT_MS)
        await tablets[member].wait_for_selector("#ballot-status[data-state=counted]", timeout=WAIT_MS)
    await demo.ok("chair", "vote.close", vote="v1")
    member = tablets["d01"]
    await member.wait_for_selector("#commission-act:has-text('Розшифрувати підсумок голосування')", timeout=WAIT_MS)
    await member.locator("#commission").scroll_into_view_if_needed()
    await camera.shot(member, "deputy-commission")
    assert camera.taken == SECRET_PICTURES
    shown = set()
    for guide in GUIDES.glob("*.md"):
        shown |= set(re.findall(r"\(img/([a-z0-9-]+\.png)\)", guide.read_text()))
    assert SECRET_PICTURES <= shown, f"secret ballot pictures no guide shows: {sorted(SECRET_PICTURES - shown)}"
    assert not camera.errors, f"uncaught errors in the pages: {camera.errors}"
