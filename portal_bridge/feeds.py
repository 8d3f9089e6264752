"""Feeds for residents and re-users: the Atom feed of published decisions and Popolo JSON.

- ``/decisions.atom``: every published decision, newest first (RFC 4287).
- ``/opendata/popolo.json``: the council as Popolo (https://www.popoloproject.com): persons,
  organizations (the council and its factions, in the council's order), memberships, motions, vote
  events with their counts, requirement and the composition they were counted from (``composition``,
  as in the motions set), and each member's vote; from the open-data read models.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from portal_bridge.document_rows import PublicDocuments
from portal_bridge.opendata_rows import OpenDataRows
from portal_bridge.pages import council_of
from session_server.extensions import core_of
from session_server.http.responses import JSONResponse, site_url

ATOM = "http://www.w3.org/2005/Atom"
REQUIREMENT = {
    "majority_of_composition": "majority of the statutory composition",
    "two_thirds_of_composition": "two thirds of the statutory composition",
    "majority_of_registered": "majority of those registered",
}
OPTION = {"За": "yes", "Проти": "no", "Утримався": "abstain", "Не голосував": "not voting", "Відсутній": "absent"}


async def decisions_atom(request: Request) -> Response:
    """The Atom feed of published decisions."""
    council = await council_of(request)
    rows = await PublicDocuments(core_of(request).database).decisions(200)
    base = site_url(request)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{council.name}: рішення"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:kvorum:{council.id}:decisions"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/decisions.atom")
    newest = rows[0]["decision_published_on"].isoformat() if rows else "1970-01-01"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = f"{newest}T00:00:00Z"
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = council.name
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:kvorum:{council.id}:decision:{row['id']}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"Рішення № {row['decision_number']}: {row['title']}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = f"{row['decision_published_on'].isoformat()}T00:00:00Z"
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}/api/v1/documents/{row['id']}")
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = f"Проєкт {row['number']}"
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


async def popolo(request: Request) -> Response:
    """The council, its members and every closed vote as Popolo JSON."""
    council = await council_of(request)
    rows = OpenDataRows(core_of(request).database)
    motions = [motion for motion, _ in await rows.motions()]
    votings = await rows.votings()
    factions = council.factions
    organizations = [{"id": council.id, "name": council.name, "classification": "legislature"}]
    organizations += [
        {"id": f"{council.id}/{n}", "name": f, "classification": "party", "parent_id": council.id}
        for n, f in enumerate(factions, start=1)
    ]
    faction_id = {f: f"{council.id}/{n}" for n, f in enumerate(factions, start=1)}
    memberships = []
    for d in council.deputies.values():
        role = "Міський голова" if d.mayor else "Депутат"
        memberships.append({"person_id": d.id, "organization_id": council.id, "role": role})
        if d.faction:
            memberships.append({"person_id": d.id, "organization_id": faction_id[d.faction], "role": "Член фракції"})
    # the standing committees, each an organization of the council with its members and officers
    committee_id = {c.id: f"{council.id}/committee/{c.id}" for c in council.committees.values()}
    offices = {"chair": "Голова комісії", "deputy_chair": "Заступник голови комісії", "secretary": "Секретар комісії"}
    for c in council.committees.values():
        organizations.append(
            {"id": committee_id[c.id], "name": c.name, "classification": "committee", "parent_id": council.id}
        )
        held = {getattr(c, office): role for office, role in offices.items() if getattr(c, office)}
        memberships += [
            {"person_id": m, "organization_id": committee_id[c.id], "role": held.get(m, "Член комісії")}
            for m in c.members
        ]

    def body_of(motion: Mapping[str, Any]) -> str:
        """The organization that voted: a committee at its sitting, else the council."""
        return committee_id.get(str(motion.get("committee_id") or ""), council.id)

    result = {"Прийнято": "pass", "Не прийнято": "fail"}
    body = {
        "persons": [{"id": d.id, "name": d.name} for d in council.deputies.values()],
        "organizations": organizations,
        "memberships": memberships,
        "motions": [
            {
                "id": m["uid"],
                "organization_id": body_of(m),
                "text": m["title"],
                "date": m["date"],
                "legislative_session_id": str(m["legislativeSession"]),
                "classification": _classification(m),
                # not Popolo fields: an amendment vote's amendments (a committee's conclusion: those it proposes),
                # and whether this vote settled the draft
                "amendments": [int(n) for n in str(m.get("amendments") or "").split("; ") if n.isdigit()],
                "decisive": bool(m.get("decisive")),
                "requirement": f"{REQUIREMENT.get(m.get('rule', ''), m.get('rule', ''))}: {m.get('required')} votes",
                "result": result[m["votingResult"]],
            }
            for m in motions
        ],
        "vote_events": [
            {
                "id": m["uid"],
                "motion_id": m["uid"],
                "organization_id": body_of(m),
                "start_date": m["date"],
                "result": result[m["votingResult"]],
                # not a Popolo field: the composition the counts add up to and the threshold was taken from
                "composition": m.get("composition"),
                "counts": [
                    {"option": "yes", "value": m["votingFor"]},
                    {"option": "no", "value": m["votingAgainst"]},
                    {"option": "abstain", "value": m["votingAbstain"]},
                    {"option": "not voting", "value": m["notVoting"]},
                    {"option": "absent", "value": m["absent"]},
                ],
            }
            for m in motions
        ],
        "votes": [
            {"vote_event_id": v["motionUid"], "voter_id": v["voterId"], "option": OPTION[v["result"]]} for v in votings
        ],
    }
    return JSONResponse(body)


def _classification(motion: Mapping[str, Any]) -> str:
    """Popolo's motion classification: what the vote was on (``voting.kinds``: "basis", "whole",
    "basis_and_whole", "procedural:<purpose>"); "decision" for a vote opened without a kind."""
    if motion.get("purpose"):
        return f"procedural:{motion['purpose']}"
    return str(motion.get("kind") or "decision")


def routes() -> list[BaseRoute]:
    """The feeds, at the site's root."""
    return [Route("/decisions.atom", decisions_atom), Route("/opendata/popolo.json", popolo)]
