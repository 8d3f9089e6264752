"""Retention: what the law keeps (at least five years) Kvorum never changes or deletes — the database itself
refuses it — and the administrator sees what is kept, how much, since when and until when."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path

import asyncpg
import pytest
from accessibility_support import axe_source, serious_violations
from browser_support import Browser, sign_in
from conftest import Demo, eventually
from video_support import counter_file

from session_server import demo
from session_server.config import ConfigError, Settings

__all__ = ["axe_source"]  # the fixture, used here

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PDF = b"%PDF-1.4\n% a draft's text\n%%EOF\n"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # access tokens of 5 s: the console outlives one, as it outlives ten minutes on a sitting day
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        host="127.0.0.1",
        port=0,
        checkpoint_seconds=1,
        access_token_seconds=5,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET actor = 'someone else' WHERE seq = 1",
        "DELETE FROM events WHERE type = 'council.created'",
        "TRUNCATE events CASCADE",
        "DELETE FROM checkpoints",
        "UPDATE checkpoints SET note = ''",
        "TRUNCATE checkpoints CASCADE",
        "DELETE FROM cosignatures",
        "DELETE FROM files",
        "UPDATE files SET content = 'x'",
        "TRUNCATE files",
    ],
)
async def test_the_database_refuses_to_change_or_delete_what_the_law_keeps(
    demo_council: Demo, database_url: str, statement: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # A row of each: a signed checkpoint (signed each second here), a witness's line on it, an attached file.
        await eventually(lambda: conn.fetchval("SELECT count(*) FROM checkpoints"), "a signed checkpoint")
        await conn.execute(
            """INSERT INTO cosignatures (stream, size, witness, line)
               SELECT stream, size, 'a witness', '— a witness line' FROM checkpoints LIMIT 1"""
        )
        await conn.execute(
            "INSERT INTO files (sha256, media_type, size, content) VALUES ($1, 'application/pdf', $2, $3)",
            hashlib.sha256(PDF).digest(),
            len(PDF),
            PDF,
        )
        before = await conn.fetchval("SELECT count(*) FROM events")
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never changed or deleted"):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM events") == before
    finally:
        await conn.close()


async def test_the_administrator_sees_what_is_kept_how_much_since_when_and_until_when(demo_council: Demo) -> None:
    council = demo_council
    anonymous = await council.client.get("/api/v1/storage")
    assert anonymous.status_code == 401
    refused = await council.client.get("/api/v1/storage", headers=await council.headers("secretary"))
    assert refused.status_code == 403 and set(refused.json()) >= {"error", "message"}

    # What a sitting day leaves: a draft's file, a broadcast's recording, the log and its checkpoints.
    secretary = await council.headers("secretary")
    draft = {
        "id": "reg-1",
        "document": "pr-101",
        "number": "ПР-101",
        "title": "Про програму «Електронне урядування»",
        "initiator": "Виконавчий комітет",
        "rapporteur": "Олена Бондар",
        "text": "Затвердити програму.",
    }
    registered = await council.client.post("/api/v1/documents", json=draft, headers=secretary)
    assert registered.status_code == 201, registered.text
    attached = await council.client.post(
        "/api/v1/documents/pr-101/attachments?name=проєкт.pdf",
        content=PDF,
        headers={**await council.headers("secretary"), "Content-Type": "application/pdf"},
    )
    assert attached.status_code == 201, attached.text
    camera = council.server.kvorum.settings.data_dir / "camera.mp4"
    counter_file(camera, 10)
    staff = await council.headers("operator")
    video = f"/api/v1/sessions/{demo.SESSION_ID}/video"
    assert (
        await council.client.put(video, json={"source": "camera", "camera_url": str(camera)}, headers=staff)
    ).is_success
    await council.ok("chair", "session.open")
    await council.ok("secretary", "registration.open")
    await asyncio.gather(*(council.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 19)))
    await council.ok("chair", "item.start", item="i1")
    await council.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    await council.ok("deputy01", "ballot.cast", vote="v1", choice="for")
    await council.ok("chair", "vote.close", vote="v1")  # a roll call for the open data
    broadcast = f"/api/v1/sessions/{demo.SESSION_ID}/broadcast"
    assert (await council.client.post(f"{broadcast}/camera", headers=staff)).status_code == 201
    folder = council.server.state.studio.folder(demo.SESSION_ID)
    await eventually(lambda: any(folder.glob("seg-*.ts")), "a segment of the broadcast")
    assert (await council.client.delete(f"{broadcast}/camera", headers=staff, timeout=30)).status_code == 204

    async def recorded() -> bool:
        return bool((await council.client.get(broadcast)).json()["recording"])

    await eventually(recorded, "the joined recording", seconds=30)

    admin = await council.headers("admin")

    async def published() -> bool:  # the open data's consumer has written the vote
        kept = (await council.client.get("/api/v1/storage?fresh=1", headers=admin)).json()
        return any(h["kind"] == "open_data" and h["count"] == 1 for h in kept["holdings"])

    await eventually(published, "the vote in the open data")
    response = await council.client.get("/api/v1/storage", headers=admin)
    assert response.status_code == 200, response.text
    kept = response.json()
    events = await council.server.kvorum.store.read(f"session:{demo.SESSION_ID}")
    # measured at most every few minutes (it reads the whole log and walks every segment), or now when asked
    await council.ok("chair", "item.finish", item="i1")
    again = (await council.client.get("/api/v1/storage", headers=admin)).json()
    assert again == kept
    measured = (await council.client.get("/api/v1/storage?fresh=1", headers=admin)).json()
    sittings = {h["kind"]: h for h in measured["holdings"]}["log_session"]
    assert sittings["items"] == {h["kind"]: h for h in kept["holdings"]}["log_session"]["items"] + 1
    assert kept["retention_years"] == 5 and kept["deleted_by_kvorum"] is False
    holdings = {h["kind"]: h for h in kept["holdings"]}
    kinds = {"log_council", "log_session", "log_document", "checkpoints", "cosignatures", "files", "recordings"}
    assert kinds | {"open_data"} <= set(holdings)
    sitting = holdings["log_session"]
    assert sitting["count"] >= 1 and sitting["items"] >= len(events) and sitting["bytes"] > 0
    assert holdings["log_council"]["count"] == 1
    assert holdings["files"]["count"] == 1 and holdings["files"]["bytes"] == len(PDF)
    assert holdings["open_data"]["oldest"].startswith(dt.datetime.now(dt.UTC).date().isoformat())  # the vote's day
    recording = holdings["recordings"]
    assert recording["count"] == 1  # one sitting's recording.mp4 …
    on_disk = sum(p.stat().st_size for p in folder.iterdir() if not p.name.endswith(".part"))
    assert recording["bytes"] == on_disk and recording["items"] >= 2  # … with its segments and playlists
    for holding in holdings.values():
        if holding["oldest"] is None:
            assert holding["count"] == 0 and holding["kept_until"] is None
            continue
        oldest = dt.datetime.fromisoformat(holding["oldest"]).date()
        assert holding["kept_until"] == oldest.replace(year=oldest.year + 5).isoformat()
        assert holding["oldest"] <= holding["newest"]
    assert kept["database_bytes"] > 0
    assert kept["disks"] and all(0 < d["free"] <= d["total"] for d in kept["disks"])


def test_retention_shorter_than_the_law_is_refused_at_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KVORUM_RETENTION_YEARS must be between 5 and 100"):
        Settings.from_env({"KVORUM_RETENTION_YEARS": "3"})
    assert Settings.from_env({"KVORUM_RETENTION_YEARS": "10"}).retention_years == 10
    assert Settings.from_env({}).retention_years == 5


async def test_the_administrators_console_shows_what_is_kept_and_the_secretarys_does_not(
    browser: Browser, demo_council: Demo, axe_source: str
) -> None:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(f"{demo_council.server.url}/console")
        await sign_in(page, "admin", "#storage-rows tr[data-kind=log_session]")
        panel = page.locator("#storage-panel")
        sitting = await panel.locator("tr[data-kind=log_session]").inner_text()
        assert sitting.startswith("Журнали засідань (реєстрація, голосування, виступи)")
        assert "засідань: 1; подій:" in sitting
        today = dt.date.today()
        kept_until = longest = today.replace(year=today.year + 5)
        assert f"{kept_until.day} " in sitting and f"{longest.year} р." in sitting  # «4 грудня 2031 р.»
        policy = await page.inner_text("#storage-policy")
        assert "щонайменше 5 років" in policy and "нічого з цього не видаляє" in policy
        assert await page.locator("#storage-disks li").count() >= 1
        assert await serious_violations(page, axe_source) == []
        await page.screenshot(path=str(ARTIFACTS / "console-storage.png"), full_page=True)
        # Past the access token's life, with the network cut: a sentence beside the button, nothing else lost;
        # back online, the page refreshes its token by itself and measures again.
        await asyncio.sleep(demo_council.server.kvorum.settings.access_token_seconds + 1)
        await context.set_offline(True)
        await page.click("#storage-refresh")
        await page.wait_for_selector('#storage-panel .panel-status:has-text("Немає зв\'язку з сервером.")')
        assert await page.locator("#storage-rows tr").count() >= 3  # what was shown stays
        await context.set_offline(False)
        async with page.expect_response(lambda r: "/api/v1/storage?fresh=1" in r.url and r.status == 200):
            await page.click("#storage-refresh")
        await page.wait_for_selector('#storage-panel .panel-status:not(:has-text("Немає"))', state="attached")
        assert "Немає зв'язку" not in await page.inner_text("#storage-panel")
        await page.click("#lang")
        await page.wait_for_selector('#storage-rows tr[data-kind=log_session] th:has-text("Sittings\' ledgers")')
        assert "at least 5 years" in await page.inner_text("#storage-policy")

    finally:
        await context.close()
    context = await browser.new_context(viewport={"width": 1440, "height": 900})  # another person's browser
    try:
        secretary = await context.new_page()
        await secretary.goto(f"{demo_council.server.url}/console")
        await sign_in(secretary, "secretary", "#witnesses-panel:not([hidden])")
        assert await secretary.locator("#storage-panel").is_hidden()
    finally:
        await context.close()
