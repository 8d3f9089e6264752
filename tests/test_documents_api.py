"""Decision documents through the HTTP API on a real server and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import date, timedelta
from typing import Any

import httpx
from conftest import Demo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal_bridge.documents import digest
from portal_bridge.signatures import ED25519, ed25519_sign

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _post(demo: Demo, user: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return await demo.client.post(f"/api/v1{path}", json=body, headers=await demo.headers(user))


async def _command(demo: Demo, user: str, type_: str, n: int, **fields: Any) -> httpx.Response:
    return await _post(demo, user, "/documents/pr-101/commands", {"id": f"{type_}-{n}", "type": type_, **fields})


async def test_a_draft_becomes_a_signed_published_decision(demo_council: Demo) -> None:
    demo = demo_council
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    configured = await _post(
        demo,
        "admin",
        "/council/commands",
        {"id": "keys", "type": "council.configure", "signer_keys": {"mayor-1": public}},
    )
    assert configured.status_code == 200, configured.text
    registered = await _post(
        demo,
        "secretary",
        "/documents",
        {
            "id": "reg-1",
            "document": "pr-101",
            "number": "ПР-101",
            "title": "Про програму «Електронне урядування»",
            "initiator": "Виконавчий комітет",
            "rapporteur": "Олена Бондар",
            "text": "Затвердити програму.",
        },
    )
    assert registered.status_code == 201, registered.text
    attached = await demo.client.post(
        "/api/v1/documents/pr-101/attachments?name=проєкт.pdf",
        content=PDF,
        headers={**await demo.headers("secretary"), "Content-Type": "application/pdf"},
    )
    assert attached.status_code == 201, attached.text
    sha256 = attached.json()["sha256"]
    assert sha256 == hashlib.sha256(PDF).hexdigest()
    stored = await demo.client.get(f"/api/v1/files/{sha256}")
    assert stored.content == PDF and stored.headers["content-type"] == "application/pdf"
    assert stored.headers["x-content-type-options"] == "nosniff"  # never taken for a page or a script
    assert stored.headers["content-disposition"].startswith(f'inline; filename="{sha256[:16]}.pdf"')

    today = date.today()
    assert (
        await _command(demo, "secretary", "document.publish_draft", 1, date=(today - timedelta(days=30)).isoformat())
    ).status_code == 200
    scheduled = await _command(
        demo, "secretary", "document.schedule", 1, session="c8-s45", item="i1", date=today.isoformat()
    )
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["events"][0]["payload"]["override"] is None
    outcome = await _command(
        demo,
        "admin",
        "document.record_outcome",
        1,
        session="c8-s45",
        vote="v1",
        outcome="adopted",
        decision_number="1432",
    )
    assert outcome.status_code == 200, outcome.text

    # the mayor (the demo's chair) signs the digest of the adopted decision
    from portal_bridge.documents import evolve_document
    from session_server.domain.events import RecordedEvent

    state: Any = None
    document = (await demo.client.get("/api/v1/documents/pr-101")).json()
    assert document["status"] == "adopted" and document["decision_number"] == "1432"
    events = await demo.server.kvorum.store.read("document:pr-101")
    for event in events:
        state = evolve_document(state, RecordedEvent(event.type, event.payload, event.seq, event.at))
    signature = ed25519_sign(key, digest(state))
    unsigned = await _command(demo, "secretary", "document.publish", 1, date=today.isoformat())
    assert unsigned.status_code == 409 and unsigned.json()["error"] == "not_signed"
    signed = await _command(demo, "chair", "document.sign", 1, algorithm=ED25519, key_id="mayor-1", signature=signature)
    assert signed.status_code == 200, signed.text
    published = await _command(demo, "secretary", "document.publish", 2, date=today.isoformat())
    assert published.status_code == 200, published.text
    listed = (await demo.client.get("/api/v1/documents")).json()["documents"]
    assert [(d["id"], d["number"], d["status"], d["decision_number"]) for d in listed] == [
        ("pr-101", "ПР-101", "published", "1432")
    ]
    again = await _command(demo, "secretary", "document.publish", 2, date=today.isoformat())
    assert again.status_code == 200 and again.json()["events"] == published.json()["events"]  # a retry replays

    # execution control: a passed deadline puts the decision on the overdue list until it is done
    yesterday = (today - timedelta(days=1)).isoformat()
    assert (
        await _command(demo, "secretary", "execution.assign", 1, unit="Відділ ЦНАП", deadline=yesterday)
    ).status_code == 200
    late = (await demo.client.get("/api/v1/documents/overdue")).json()["overdue"]
    assert [(d["id"], d["execution"]["unit"]) for d in late] == [("pr-101", "Відділ ЦНАП")]
    assert (await _command(demo, "secretary", "execution.report", 1, status="done", note="Виконано")).status_code == 200
    assert (await demo.client.get("/api/v1/documents/overdue")).json()["overdue"] == []


async def test_document_refusals_over_http(demo_council: Demo) -> None:
    demo = demo_council
    body = {"id": "r1", "document": "pr-102", "number": "ПР-102", "title": "Т", "initiator": "І", "rapporteur": "Р"}
    assert (await _post(demo, "deputy01", "/documents", body)).json()["error"] == "forbidden"
    assert (await _post(demo, "secretary", "/documents", body)).status_code == 201
    duplicate = await _post(demo, "secretary", "/documents", {**body, "id": "r2"})
    assert (duplicate.status_code, duplicate.json()["error"]) == (409, "document_exists")
    path = "/documents/pr-102/commands"
    today = date.today()
    published = await _post(
        demo, "secretary", path, {"id": "p", "type": "document.publish_draft", "date": today.isoformat()}
    )
    assert published.status_code == 200
    early = {"id": "s", "type": "document.schedule", "session": "c8-s45", "item": "i2", "date": today.isoformat()}
    refused = await _post(demo, "secretary", path, early)
    assert (refused.status_code, refused.json()["error"]) == (409, "published_too_late")
    overridden = await _post(demo, "secretary", path, {**early, "id": "s2", "override_reason": "Невідкладне питання"})
    assert overridden.json()["events"][0]["payload"]["override"] == {"reason": "Невідкладне питання"}
    headers = await demo.headers("secretary")
    not_pdf = await demo.client.post(
        "/api/v1/documents/pr-102/attachments?name=x.pdf",
        content=b"hello",
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert (not_pdf.status_code, not_pdf.json()["error"]) == (400, "invalid_file")
    wrong_type = await demo.client.post(
        "/api/v1/documents/pr-102/attachments?name=x.txt",
        content=PDF,
        headers={**headers, "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    missing = await demo.client.get("/api/v1/documents/nope")
    assert (missing.status_code, missing.json()["error"]) == (404, "document_not_found")
    assert (await demo.client.get("/api/v1/files/" + "0" * 64)).status_code == 404
    assert (await demo.client.get("/api/v1/files/xyz")).status_code == 400


async def test_the_outcome_of_the_items_last_vote_is_recorded_on_its_draft(demo_council: Demo) -> None:
    demo = demo_council
    body = {"id": "r1", "document": "pr-101", "number": "ПР-101", "title": "Т", "initiator": "І", "rapporteur": "Р"}
    assert (await _post(demo, "secretary", "/documents", body)).status_code == 201
    today = date.today()
    await _command(demo, "secretary", "document.publish_draft", 1, date=(today - timedelta(days=30)).isoformat())
    await _command(demo, "secretary", "document.schedule", 1, session="c8-s45", item="i1", date=today.isoformat())
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    for n in range(1, 21):
        await demo.ok(f"deputy{n:02d}", "presence.register")
    await demo.ok("chair", "item.start", item="i1")
    # "за основу" fails, "в цілому" passes: the item's last vote decides
    await demo.ok("chair", "vote.open", item="i1", subject="за основу", rule="majority_of_composition", seconds=60)
    await demo.ok("chair", "vote.close", vote="v1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    for n in range(1, 19):
        await demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v2", choice="for")
    await demo.ok("chair", "vote.close", vote="v2")
    await demo.ok("chair", "item.finish", item="i1")

    for _ in range(200):  # the consumer is woken by item.finished; wait for its commit
        document = (await demo.client.get("/api/v1/documents/pr-101")).json()
        if document["status"] != "scheduled":
            break
        await asyncio.sleep(0.025)
    assert (document["status"], document["vote"], document["decision_number"]) == ("adopted", "v2", "1-VIII")

    # a restarted consumer reads from its stored positions and records nothing twice
    outcomes = demo.server.state.consumers["outcomes"]
    assert await outcomes.catch_up() == 0
    await demo.server.kvorum.pool.execute("DELETE FROM consumer_positions")
    assert await outcomes.catch_up() > 0  # read everything again …
    events = await demo.server.kvorum.store.read("document:pr-101")
    assert [e.type for e in events].count("decision.adopted") == 1  # … and acted once


async def test_a_draft_voted_as_a_basis_then_as_a_whole_again_by_the_council_s_decision_takes_the_re_vote(
    demo_council: Demo,
) -> None:
    demo = demo_council
    body = {"id": "r1", "document": "pr-101", "number": "ПР-101", "title": "Т", "initiator": "І", "rapporteur": "Р"}
    assert (await _post(demo, "secretary", "/documents", body)).status_code == 201
    today = date.today()
    await _command(demo, "secretary", "document.publish_draft", 1, date=(today - timedelta(days=30)).isoformat())
    await _command(demo, "secretary", "document.schedule", 1, session="c8-s45", item="i1", date=today.isoformat())
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

    refused = await demo.command("chair", "vote.open", item="i1", subject="в цілому", seconds=60, kind="whole")
    assert (refused.status_code, refused.json()["error"]) == (409, "basis_required")
    await vote("basis", 18)  # 18 of 34 + the mayor: the law's majority of the composition
    first = await vote("whole", 12)  # not adopted
    again = await demo.command("chair", "vote.open", item="i1", subject="ще раз", seconds=60, kind="whole")
    assert (again.status_code, again.json()["error"]) == (409, "item_decided")
    decision = await vote("procedural", 11, purpose="revote", revote=first)  # 11 of 20 registered
    second = await vote("whole", 19)
    await demo.ok("chair", "item.finish", item="i1")

    state = (await demo.state())["state"]
    kinds = [(v["id"], v["kind"], v["rule"], v["tally"]["outcome"]) for v in state["votes"]]
    assert kinds == [
        ("v1", "basis", "majority_of_composition", "adopted"),
        (first, "whole", "majority_of_composition", "rejected"),
        (decision, "procedural", "majority_of_registered", "adopted"),
        (second, "whole", "majority_of_composition", "adopted"),
    ]
    for _ in range(200):  # the consumer is woken by item.finished; wait for its commit
        document = (await demo.client.get("/api/v1/documents/pr-101")).json()
        if document["status"] != "scheduled":
            break
        await asyncio.sleep(0.025)
    assert (document["status"], document["vote"]) == ("adopted", second)  # the re-vote decided, not v2
    motions = (await demo.client.get("/opendata/ua835/motions.json?session=c8-s45")).json()
    assert [m["votingKind"] for m in motions] == ["за основу", "в цілому", "процедурне: переголосування", "в цілому"]
    popolo = (await demo.client.get("/opendata/popolo.json")).json()
    assert [m["classification"] for m in popolo["motions"]] == ["basis", "whole", "procedural:revote", "whole"]
