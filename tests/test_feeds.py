"""The Atom feed of published decisions and the Popolo export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from conftest import Demo
from feeds_support import ATOM, _published_decision
from opendata_support import _json, _session_with_two_votes


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
