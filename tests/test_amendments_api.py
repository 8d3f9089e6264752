"""A draft considered with its amendments through the HTTP API on a real server and PostgreSQL (issue 17):
«за основу», three amendments (two of them changing the same lines), «в цілому» that fails, the council's
decision to vote again, «в цілому» again — and the consolidated text the mayor signs."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
from amendments_support import DRAFT, document_command, scheduled_draft
from conftest import Demo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal_bridge.decision_audit import check_export
from portal_bridge.signatures import ED25519, ed25519_sign
from session_server.domain.audit import audit
from voting.amendments import lines_of
from voting.decision import document_digest

MAYOR_KEY = Ed25519PrivateKey.generate()


async def _document(demo: Demo, user: str, n: int, type_: str, **fields: Any) -> httpx.Response:
    return await document_command(demo, user, f"{type_}-{n}", type_, **fields)


async def _settled(demo: Demo, done: Any) -> dict[str, Any]:
    """The document once ``done(document)`` holds: the consumer of the sitting's log records outcomes."""
    for _ in range(400):
        document: dict[str, Any] = (await demo.client.get("/api/v1/documents/pr-101")).json()
        if done(document):
            return document
        await asyncio.sleep(0.025)
    raise AssertionError(f"the document did not settle: {document['status']}, {document['amendments']}")


async def test_a_draft_with_its_amendments_becomes_the_consolidated_decision(demo_council: Demo) -> None:
    demo = demo_council
    public = base64.b64encode(MAYOR_KEY.public_key().public_bytes_raw()).decode()
    await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "keys", "type": "council.configure", "signer_keys": {"mayor-1": public}},
        headers=await demo.headers("admin"),
    )
    await scheduled_draft(demo)

    # A deputy proposes in the deputy's own name; the secretary enters one for a deputy; the mayor proposes.
    mine = await _document(
        demo,
        "deputy03",
        1,
        "amendment.propose",
        reason="Школам потрібно більше",
        changes=[{"op": "replace", "from": 2, "to": 2, "text": "2. Збільшити видатки на ремонт шкіл на 12 млн грн."}],
    )
    assert mine.status_code == 200, mine.text
    rival = await _document(
        demo,
        "secretary",
        2,
        "amendment.propose",
        author={"kind": "deputy", "member": "d07"},
        reason="Видатки не збільшувати",
        changes=[{"op": "delete", "from": 2, "to": 3}],
    )
    assert rival.status_code == 200, rival.text
    mayors = await _document(
        demo,
        "chair",
        3,
        "amendment.propose",
        reason="Прозорість",
        changes=[{"op": "insert", "after": 4, "text": "5. Оприлюднити рішення на сайті ради."}],
    )
    assert mayors.status_code == 200, mayors.text
    withdrawn = await _document(
        demo, "deputy05", 4, "amendment.propose", reason="Інша дата", changes=[{"op": "delete", "from": 1, "to": 1}]
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await _document(demo, "deputy05", 5, "amendment.withdraw", amendment="a4")).status_code == 200

    for user, fields, status, code in [
        ("deputy03", {"author": {"kind": "deputy", "member": "d07"}}, 403, "forbidden"),  # in another's name
        ("secretary", {"author": {"kind": "deputy", "member": "d99"}}, 409, "unknown_deputy"),
        ("secretary", {}, 400, "invalid_command"),  # the secretary names the author
        ("deputy03", {"changes": [{"op": "replace", "from": 4, "to": 5, "text": "x"}]}, 400, "invalid_amendment"),
        ("deputy03", {"changes": [{"op": "insert", "after": 1}]}, 400, "invalid_request"),  # no text
        ("deputy04", {"changes": [{"op": "move", "from": 1, "to": 1}]}, 400, "invalid_request"),
    ]:
        body = {"reason": "Причина", "changes": [{"op": "delete", "from": 1, "to": 1}], **fields}
        refused = await _document(demo, user, 10 + len(str(fields)), "amendment.propose", **body)
        assert (refused.status_code, refused.json()["error"]) == (status, code), (fields, refused.text)
        assert refused.json()["message"]

    document = (await demo.client.get("/api/v1/documents/pr-101")).json()
    amendments = {a["id"]: a for a in document["amendments"]}
    assert amendments["a1"]["author"] == {"kind": "deputy", "member": "d03"}
    assert amendments["a2"]["author"] == {"kind": "deputy", "member": "d07"}
    assert amendments["a3"]["author"] == {"kind": "mayor"}
    assert amendments["a4"]["status"] == "withdrawn"
    assert (amendments["a1"]["conflicts_with"], amendments["a2"]["conflicts_with"]) == ([2], [1])  # flagged
    assert amendments["a3"]["conflicts_with"] == []

    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    for n in range(1, 21):
        await demo.ok(f"deputy{n:02d}", "presence.register")
    await demo.ok("chair", "item.start", item="i1")

    async def vote(kind: str, voters: int, **fields: Any) -> str:
        opened = await demo.ok("chair", "vote.open", item="i1", subject=kind, seconds=60, kind=kind, **fields)
        vote_id = str(opened["events"][0]["payload"]["vote"])
        for n in range(1, voters + 1):
            await demo.ok(f"deputy{n:02d}", "ballot.cast", vote=vote_id, choice="for")
        await demo.ok("chair", "vote.close", vote=vote_id)
        return vote_id

    async def refused_vote(amendments: list[str]) -> tuple[int, str]:
        answer = await demo.command(
            "chair", "vote.open", item="i1", subject="поправка", seconds=60, kind="amendment", amendments=amendments
        )
        return answer.status_code, answer.json()["error"]

    assert await refused_vote(["a1"]) == (409, "basis_required")
    await vote("basis", 18)
    assert await refused_vote(["a1", "a2"]) == (409, "amendment_conflict")  # not jointly: the same lines
    assert await refused_vote(["a4"]) == (409, "amendment_withdrawn")
    assert await refused_vote(["a9"]) == (409, "unknown_amendment")
    first = await vote("amendment", 18, amendments=["a1"])
    assert await refused_vote(["a2"]) == (409, "amendment_conflict")  # a1, adopted, changed line 2
    assert await refused_vote(["a1"]) == (409, "amendment_voted")
    mayors_vote = await vote("amendment", 10, amendments=["a3"])  # 10 of 35: not adopted
    failed = await vote("whole", 12)
    decision = await vote("procedural", 11, purpose="revote", revote=failed)
    second = await vote("whole", 19)
    await demo.ok("chair", "item.finish", item="i1")

    state = (await demo.state())["state"]
    assert [(v["kind"], v["amendments"], v["tally"]["outcome"]) for v in state["votes"]] == [
        ("basis", [], "adopted"),
        ("amendment", ["a1"], "adopted"),
        ("amendment", ["a3"], "rejected"),
        ("whole", [], "rejected"),
        ("procedural", [], "adopted"),
        ("whole", [], "adopted"),
    ]
    assert decision != second
    document = await _settled(demo, lambda d: d["status"] == "adopted")
    amendments = {a["id"]: a for a in document["amendments"]}
    assert (amendments["a1"]["status"], amendments["a1"]["vote"]) == ("adopted", first)
    assert (amendments["a3"]["status"], amendments["a3"]["vote"]) == ("rejected", mayors_vote)
    assert amendments["a2"]["status"] == "proposed"  # never put: it lost its lines to a1
    assert document["vote"] == second and document["adopted_amendments"] == ["a1"]
    consolidated = lines_of(document["text"])
    assert consolidated == [
        "1. Внести зміни до міського бюджету на 2027 рік.",
        "2. Збільшити видатки на ремонт шкіл на 12 млн грн.",
        "3. Фінансовому управлінню внести зміни до розпису.",
        "4. Контроль покласти на комісію з питань бюджету.",
    ]
    assert document["draft_text"] == DRAFT
    draft, version = document["versions"]
    assert (draft["kind"], draft["text"], version["kind"], version["amendments"]) == (
        "draft",
        DRAFT,
        "consolidated",
        ["a1"],
    )
    assert [(d["op"], d["line"]) for d in version["diff"] if d["op"] != "same"] == [("removed", 2), ("added", None)]
    # What the mayor signs is the consolidated text.
    signed_over = document_digest(
        document="pr-101",
        number="ПР-101",
        decision_number=document["decision_number"],
        title=document["title"],
        text="\n".join(consolidated),
        attachments=[],
        session="c8-s45",
        vote=second,
    )
    assert document["digest"] == signed_over.hex()
    signature = ed25519_sign(MAYOR_KEY, signed_over)
    signed = await _document(
        demo, "chair", 21, "document.sign", algorithm=ED25519, key_id="mayor-1", signature=signature
    )
    assert signed.status_code == 200, signed.text
    # Offline, `kvorum verify` makes the consolidated text again from the draft and the adopted amendment.
    export = (await demo.client.get("/api/v1/documents/pr-101/export")).json()
    assert "digest" in check_export(export, None)
    # The decision's page: the consolidated text, what changed against the draft, every amendment's fate.
    page = (await demo.client.get("/decisions/pr-101")).text
    assert "Текст з урахуванням прийнятих поправок" in page
    assert '<li class="diff-removed"><span class="ln">2</span><del>2. Збільшити видатки на ремонт шкіл на 10' in page
    assert '<li class="diff-added"><span class="ln"></span><ins>2. Збільшити видатки на ремонт шкіл на 12' in page
    for number, fate in ((1, "прийнята"), (2, "не голосувалася"), (3, "не прийнята"), (4, "відкликана автором")):
        assert f"<strong>Поправка {number}</strong> — {fate}." in page
    # The minutes name each amendment put to the vote with its author, reason and text.
    minutes = (await demo.client.get("/sessions/c8-s45/minutes")).text
    d03 = next(d["name"] for d in (await demo.client.get("/api/v1/council")).json()["deputies"] if d["id"] == "d03")
    assert "Голосується поправка 1 до проєкту рішення." in minutes
    assert (
        f"Поправка 1 (автор — {d03}; обґрунтування: Школам потрібно більше): рядок 2 викласти в такій редакції: "
        "«2. Збільшити видатки на ремонт шкіл на 12 млн грн.»." in minutes
    )
    assert "Поправка 3 (автор — міський голова; обґрунтування: Прозорість): після рядка 4 доповнити текстом" in minutes
    assert minutes.count("поправку прийнято") == 1 and minutes.count("поправку не прийнято") == 1
    # Open data and Popolo say which vote settled the draft and which amendments each vote was on.
    await _settled(demo, lambda d: True)
    for _ in range(400):
        motions = (await demo.client.get("/opendata/ua835/motions.json?session=c8-s45")).json()
        if len(motions) == 6 and any(m["decisive"] for m in motions):
            break
        await asyncio.sleep(0.025)
    assert [(m["votingKind"], m["amendments"], m["decisive"]) for m in motions] == [
        ("за основу", "", False),
        ("поправка", "1", False),
        ("поправка", "3", False),
        ("в цілому", "", False),
        ("процедурне: переголосування", "", False),
        ("в цілому", "", True),
    ]
    popolo = (await demo.client.get("/opendata/popolo.json")).json()
    assert [(m["classification"], m["amendments"], m["decisive"]) for m in popolo["motions"]][1:3] == [
        ("amendment", [1], False),
        ("amendment", [3], False),
    ]
    # `kvorum verify` on the sitting's ledger: the amendment votes' order and results hold offline too.
    ledger = (await demo.client.get("/api/v1/sessions/c8-s45/ledger/export")).json()
    report = audit(ledger)
    assert report.session == "c8-s45" and report.sealed_ballots > 0  # a new council's votes are sealed
    late = await _document(
        demo, "deputy03", 20, "amendment.propose", reason="Пізно", changes=[{"op": "delete", "from": 1, "to": 1}]
    )
    assert (late.status_code, late.json()["error"]) == (409, "draft_decided")
