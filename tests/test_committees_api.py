"""Standing committees through the API (issue 19): the secretary forms a committee; its sitting is a
sitting like the plenary's, steered by the committee's chair, where only its members register and vote,
its own composition counts for quorum and the majority (art. 47), a guest deputy may take the floor, and
its ledger verifies offline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
from committees_support import form_committee, schedule_sitting
from conftest import Demo, eventually

from portal_bridge.ukrainian import registration_line
from session_server.cli import main

SITTING = "budget-c8-s1"
WEB = Path(__file__).resolve().parent.parent / "web"


async def _js_line(composition: dict[str, Any]) -> str:
    """The screens' registration line (web/ukrainian.js) for this composition, run by node."""
    script = (
        f"import {{ registrationLine }} from {json.dumps((WEB / 'ukrainian.js').as_uri())};"
        f"process.stdout.write(registrationLine('uk', {json.dumps(composition)}));"
    )
    proc = await asyncio.create_subprocess_exec(
        "node", "--input-type=module", "-e", script, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode()


async def _council(demo: Demo, username: str, type_: str, **fields: Any) -> Any:
    return await demo.client.post(
        "/api/v1/council/commands",
        json={"id": f"{type_}-{len(fields)}-{fields.get('committee', '')}-{username}", "type": type_, **fields},
        headers=await demo.headers(username),
    )


async def _budget(demo: Demo) -> None:
    await form_committee(
        demo,
        "budget",
        "Постійна комісія з питань бюджету та фінансів",
        ["d03", "d01", "d02", "d04", "d05"],
        chair="d01",
        deputy_chair="d02",
        secretary="d03",
    )
    assert await schedule_sitting(demo, "budget", [("Про проєкт бюджету на 2027 рік", "ПР-102")]) == SITTING


async def _draft_for_budget(demo: Demo) -> None:
    """ПР-102, registered and sent to the budget committee as the lead one."""
    registered = await demo.client.post(
        "/api/v1/documents",
        json={
            "id": "reg-102",
            "document": "pr-102",
            "number": "ПР-102",
            "title": "Про міський бюджет на 2027 рік",
            "initiator": "Виконавчий комітет",
            "rapporteur": "Олена Бондар",
            "text": "1. Затвердити бюджет.",
        },
        headers=await demo.headers("secretary"),
    )
    assert registered.status_code == 201, registered.text

    async def assign(command_id: str, **fields: Any) -> Any:
        body = {"id": command_id, "type": "draft.assign", **fields}
        return await demo.client.post(
            "/api/v1/documents/pr-102/commands", json=body, headers=await demo.headers("secretary")
        )

    assert (await assign("assign-budget", committee="budget", lead=True)).status_code == 200
    again = await assign("assign-again", committee="budget")
    assert (again.status_code, again.json()["error"]) == (409, "already_assigned")
    unknown = await assign("assign-nope", committee="nope")
    assert (unknown.status_code, unknown.json()["error"]) == (409, "unknown_committee")


async def test_a_committee_sits_as_the_council_does_with_its_own_members_and_composition(
    demo_council: Demo, tmp_path: Path, capsys: Any
) -> None:
    demo = demo_council
    await _budget(demo)
    await _draft_for_budget(demo)
    council = (await demo.client.get("/api/v1/council")).json()
    [budget] = council["committees"]
    assert budget["members"] == ["d01", "d02", "d03", "d04", "d05"]  # in the roster's order

    async def ok(username: str, type_: str, **fields: Any) -> dict[str, Any]:
        response = await demo.command(username, type_, session=SITTING, **fields)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # the committee's chair, a deputy, steers its sitting; another deputy may not
    refused = await demo.command("deputy04", "session.open", session=SITTING)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    await ok("deputy01", "session.open")
    await ok("deputy01", "registration.open")
    for member in ("deputy01", "deputy02"):
        await ok(member, "presence.register")
    state = (await demo.client.get(f"/api/v1/sessions/{SITTING}")).json()["state"]
    assert state["committee"] == "budget"
    assert state["composition"]["total"] == 5 and state["quorum"] is False  # 2 of 5 is not more than half
    await ok("deputy03", "presence.register")
    state = (await demo.client.get(f"/api/v1/sessions/{SITTING}")).json()["state"]
    assert state["quorum"] is True  # 3 of 5

    # the one count, as a committee's: its members against its composition, art. 47 cited
    composition = state["composition"]
    assert composition["committee"] is True
    line = (
        "Зареєстровано 3 члени комісії з 5; для кворуму потрібно 3 "
        "(ст. 47 Закону України «Про місцеве самоврядування в Україні»)"
    )
    assert registration_line(composition) == line
    assert await _js_line(composition) == line  # the screens say it word for word
    assert line in (await demo.client.get(f"/sessions/{SITTING}")).text  # and the portal

    guest = await demo.command("deputy10", "presence.register", session=SITTING)
    assert (guest.status_code, guest.json()["error"]) == (403, "not_a_committee_member")
    await ok("deputy10", "speaker.request")  # a guest may ask for the floor

    await ok("deputy01", "item.start", item="i1")
    # a member proposes an amendment on the tablet; the committee's conclusion proposes it to the plenary
    amendment = await demo.client.post(
        "/api/v1/documents/pr-102/commands",
        json={
            "id": "amend-102",
            "type": "amendment.propose",
            "reason": "Резерв на ремонт шкіл",
            "changes": [{"op": "insert", "after": 1, "text": "2. Створити резерв на ремонт шкіл."}],
        },
        headers=await demo.headers("deputy02"),
    )
    assert amendment.status_code == 200, amendment.text
    conclusion_vote = {"item": "i1", "kind": "conclusion", "recommendation": "support", "seconds": 60}
    unknown = await demo.command(
        "deputy01", "vote.open", session=SITTING, subject="Висновок", amendments=["a9"], **conclusion_vote
    )
    assert (unknown.status_code, unknown.json()["error"]) == (409, "unknown_amendment")
    procedural = await demo.command(
        "deputy01",
        "vote.open",
        session=SITTING,
        item="i1",
        subject="Перерва",
        kind="procedural",
        purpose="break",
        amendments=["a1"],
        seconds=60,
    )
    assert (procedural.status_code, procedural.json()["error"]) == (400, "invalid_command")
    await ok("deputy01", "vote.open", subject="Висновок: підтримати проєкт", amendments=["a1"], **conclusion_vote)
    vote = (await demo.client.get(f"/api/v1/sessions/{SITTING}")).json()["state"]["votes"][-1]
    assert vote["rule"] == "majority_of_composition"  # the committee's majority, of its composition
    assert (vote["kind"], vote["recommendation"], vote["amendments"]) == ("conclusion", "support", ["a1"])
    for member in ("deputy01", "deputy02", "deputy03"):
        await ok(member, "ballot.cast", vote=vote["id"], choice="for")
    outsider = await demo.command("deputy10", "ballot.cast", session=SITTING, vote=vote["id"], choice="against")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "not_a_committee_member")
    await ok("deputy01", "vote.close", vote=vote["id"])
    closed = (await demo.client.get(f"/api/v1/sessions/{SITTING}")).json()["state"]["votes"][-1]
    tally = closed["tally"]
    assert (tally["for"], tally["required"], tally["outcome"]) == (3, 3, "adopted")
    assert sorted(closed["roll_call"]) == ["d01", "d02", "d03", "d04", "d05"]  # the committee's members only

    # the conclusion is recorded on the draft the item names, for the plenary to see beside it
    async def concluded() -> list[dict[str, Any]]:
        document = (await demo.client.get("/api/v1/documents/pr-102")).json()
        return list(document["conclusions"])

    [conclusion] = await eventually(concluded, "the budget committee's conclusion on ПР-102")
    assert conclusion == {
        "committee": "budget",
        "session": SITTING,
        "vote": vote["id"],
        "recommendation": "support",
        "adopted": True,
        "text": "Висновок: підтримати проєкт",
        "amendments": ["a1"],
    }
    document = (await demo.client.get("/api/v1/documents/pr-102")).json()
    assert document["committees"] == {"budget": True}
    # the amendment it proposes stays for the plenary to vote, and says which committee proposes it
    [proposed] = document["amendments"]
    assert (proposed["status"], proposed["proposed_by"]) == ("proposed", ["budget"])

    # the committee's protocol, from its log: its members and composition, its conclusion, its officers sign
    names = {d["id"]: d["name"] for d in council["deputies"]}
    protocol = (await demo.client.get(f"/sessions/{SITTING}/minutes")).text
    assert "засідання № 1 постійної комісії з питань бюджету та фінансів" in protocol
    assert "Голосується висновок комісії щодо проєкту рішення: підтримати; пропонує поправку 1." in protocol
    assert "Резерв на ремонт шкіл" in protocol  # the amendment it proposes, with its reason and text
    assert "Рішення приймається більшістю голосів від складу комісії; потрібно" in protocol
    assert "висновок «підтримати» ухвалено" in protocol
    assert "Склад комісії для підрахунку голосів — 5 членів" in protocol
    for office, member in (("Голова комісії", "d01"), ("Секретар комісії", "d03")):
        assert (
            f'<span class="role">{office}</span> <span class="blank"></span> <span class="name">{names[member]}</span>'
            in protocol
        )
    assert names["d10"] not in protocol.split("Поіменне голосування")[1]  # a guest is in no roll call
    assert "Міський голова" not in protocol

    # the portal lists the council's plenary sittings, each committee's on its page; a member's attendance
    # is counted for the plenary and for each committee apart
    sitting_page = (await demo.client.get(f"/sessions/{SITTING}")).text
    assert "Склад комісії для підрахунку голосів — 5 членів" in sitting_page
    assert "Склад ради для підрахунку голосів" not in sitting_page  # its votes counted from the committee's
    home = (await demo.client.get("/")).text
    assert "Усі засідання ради</a> (1 пленарне засідання)" in home  # the plenary's, as /sessions lists them
    sessions_page = (await demo.client.get("/sessions")).text
    assert f'href="/sessions/{SITTING}"' not in sessions_page and 'href="/committees"' in sessions_page
    assert f'href="/sessions/{SITTING}"' in (await demo.client.get("/committees/budget")).text

    async def attendance() -> bool:
        page = (await demo.client.get("/deputies/d01")).text
        return "Присутність на засіданнях комісії: 1 з 1." in page

    await eventually(attendance, "deputy01's attendance at the budget committee")
    assert (
        "Присутність на пленарних засіданнях ради (реєстрація): 0 з 0." in (await demo.client.get("/deputies/d01")).text
    )

    export = tmp_path / "committee.json"
    export.write_bytes((await demo.client.get(f"/api/v1/sessions/{SITTING}/ledger/export")).content)
    assert await asyncio.to_thread(main, ["verify", str(export)]) == 0
    out = capsys.readouterr().out
    assert "needed 3 → adopted (recounted)" in out
    assert orjson.loads(export.read_bytes())["session_ledger"]["origin"].endswith(f"/voznesensk/{SITTING}")


async def test_committee_records_are_refused_in_words_when_they_break_the_rules(demo_council: Demo) -> None:
    demo = demo_council
    await _budget(demo)

    async def refused(type_: str, **fields: Any) -> str:
        response = await _council(demo, "secretary", type_, **fields)
        assert response.status_code >= 400, response.text
        assert response.json()["message"]
        return str(response.json()["error"])

    base = {"name": "Комісія з питань землі", "composition": 3, "chair": "d06"}
    assert await refused("committee.create", committee="land", members=["d06", "d01"], **base) == "committee_limit"
    assert await refused("committee.create", committee="land", members=["d06", "mayor"], **base) == "invalid_committee"
    assert await refused("committee.create", committee="land", members=["d06", "d07", "d08", "d09"], **base) == (
        "invalid_committee"  # more members than its composition
    )
    assert await refused("committee.create", committee="land", members=["d07"], **base) == "invalid_committee"
    assert await refused("committee.update", committee="nope", name="Х") == "unknown_committee"
    deputy = await _council(demo, "deputy05", "committee.create", committee="x", members=["d06"], **base)
    assert deputy.status_code == 403
    changed = await _council(demo, "secretary", "committee.update", committee="budget", deputy_chair="")
    assert changed.status_code == 200, changed.text
    council = (await demo.client.get("/api/v1/council")).json()
    assert council["committees"][0]["deputy_chair"] is None
    unknown = await demo.client.post(
        "/api/v1/sessions",
        json={"id": "s-x", "number": 2, "convocation": 8, "date": "2026-12-11", "title": "Х", "committee": "nope"},
        headers=await demo.headers("secretary"),
    )
    assert (unknown.status_code, unknown.json()["error"]) == (409, "unknown_committee")


async def test_the_plenary_adopts_no_conclusion_and_a_conclusion_says_what_it_recommends(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 20)))
    await demo.ok("chair", "item.start", item="i1")
    plenary = await demo.command(
        "chair", "vote.open", item="i1", subject="Висновок", kind="conclusion", recommendation="support", seconds=60
    )
    assert (plenary.status_code, plenary.json()["error"]) == (409, "conclusion_in_committee")
    bare = await demo.command("chair", "vote.open", item="i1", subject="Висновок", kind="conclusion", seconds=60)
    assert (bare.status_code, bare.json()["error"]) == (400, "invalid_command")
