"""The Atom feed of published decisions and the Popolo export."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from typing import Any

from conftest import Demo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_opendata import _json, _session_with_two_votes

from portal_bridge.documents import digest, evolve_document
from portal_bridge.signatures import ED25519, ed25519_sign
from session_server.domain.events import RecordedEvent

ATOM = "{http://www.w3.org/2005/Atom}"


async def _post(demo: Demo, user: str, path: str, body: dict[str, Any]) -> Any:
    response = await demo.client.post(f"/api/v1{path}", json=body, headers=await demo.headers(user))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _published_decision(demo: Demo) -> None:
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    await _post(
        demo, "admin", "/council/commands", {"id": "k", "type": "council.configure", "signer_keys": {"m": public}}
    )
    doc = {"document": "pr-101", "number": "ПР-101", "title": "Про бюджет участі", "initiator": "І", "rapporteur": "Р"}
    await _post(demo, "secretary", "/documents", {"id": "r", **doc})
    today = date.today()
    path = "/documents/pr-101/commands"
    await _post(
        demo,
        "secretary",
        path,
        {"id": "p", "type": "document.publish_draft", "date": (today - timedelta(days=30)).isoformat()},
    )
    schedule = {"id": "s", "type": "document.schedule", "session": "c8-s45", "item": "i1", "date": today.isoformat()}
    await _post(demo, "secretary", path, schedule)
    outcome = {"id": "o", "type": "document.record_outcome", "session": "c8-s45", "vote": "v1", "outcome": "adopted"}
    await _post(demo, "admin", path, {**outcome, "decision_number": "77-VIII"})
    state: Any = None
    for event in await demo.server.kvorum.store.read("document:pr-101"):
        state = evolve_document(state, RecordedEvent(event.type, event.payload, event.seq, event.at))
    sign = {
        "id": "g",
        "type": "document.sign",
        "algorithm": ED25519,
        "key_id": "m",
        "signature": ed25519_sign(key, digest(state)),
    }
    await _post(demo, "chair", path, sign)
    await _post(demo, "secretary", path, {"id": "pub", "type": "document.publish", "date": today.isoformat()})


async def test_the_atom_feed_lists_published_decisions(demo_council: Demo) -> None:
    empty = await demo_council.client.get("/decisions.atom")
    assert empty.headers["content-type"].startswith("application/atom+xml")
    assert ET.fromstring(empty.content).findall(f"{ATOM}entry") == []
    await _published_decision(demo_council)
    feed = ET.fromstring((await demo_council.client.get("/decisions.atom")).content)
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Рішення № 77-VIII: Про бюджет участі"
    assert entry.findtext(f"{ATOM}updated") == f"{date.today().isoformat()}T00:00:00Z"
    assert entry.find(f"{ATOM}link").get("href", "").endswith("/api/v1/documents/pr-101")  # type: ignore[union-attr]
    assert feed.findtext(f"{ATOM}title") == "Вознесенська міська рада: рішення"


async def test_popolo_holds_the_council_its_members_and_every_vote(demo_council: Demo) -> None:
    await _session_with_two_votes(demo_council)
    await _json(demo_council, "/opendata/ua835/votings.json")  # the consumer has written both votes
    popolo = (await demo_council.client.get("/opendata/popolo.json")).json()
    assert len(popolo["persons"]) == 35
    assert [o["classification"] for o in popolo["organizations"]] == ["legislature"] + ["party"] * 4
    # the factions in the council's order (as seated in the demo), not alphabetical
    assert [o["name"] for o in popolo["organizations"][1:]] == [
        "Громада",
        "Розвиток",
        "Рідне місто",
        "Народний контроль",
    ]
    assert popolo["motions"][0]["requirement"] == "majority of the statutory composition: 18 votes"
    first = popolo["vote_events"][0]
    assert first["result"] == "pass"
    assert {c["option"]: c["value"] for c in first["counts"]} == {
        "yes": 18,
        "no": 1,
        "abstain": 0,
        "not voting": 1,
        "absent": 14,  # the mayor took no part: not in the composition
    }
    assert first["composition"] == 34  # what the counts add up to, as the motions set states it
    votes = {(v["vote_event_id"], v["voter_id"]): v["option"] for v in popolo["votes"]}
    assert len(votes) == 68 and votes[("c8-s45-v1", "d19")] == "no" and votes[("c8-s45-v2", "d01")] == "abstain"
    mayor = [m for m in popolo["memberships"] if m["person_id"] == "mayor"]
    assert mayor == [{"person_id": "mayor", "organization_id": "voznesensk", "role": "Міський голова"}]
