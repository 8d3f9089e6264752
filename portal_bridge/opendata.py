"""Open data: roll-call results as Ukrainian councils publish them (Cabinet of Ministers Resolution
No. 835): ``motions``, ``votings`` and the deputies, as CSV and JSON, per session or for the whole
convocation.

CSV is for people with spreadsheets as much as for programs: UTF-8 with a byte-order mark (so Excel
on Windows reads the Cyrillic), a header row, CRLF line ends, and yes/no as «так»/«ні». JSON keeps
numbers and ``true``/``false``. Each motion states the composition its vote was counted from
(``composition``, art. 59 part 2), the figure the screens and the minutes give. A standing committee's
roll calls are published as the plenary's are (Law 3590-IX), in the same data sets, with one more column:
``committee``, the committee's name ("" for the plenary), and its composition counted as the committee's.

The ``opendata`` consumer writes one motion per closed vote and one voting line per council member
into ``od_motions`` / ``od_votings`` as each ``vote.closed`` commits (upserts: idempotent). A vote on
including an item in the agenda (``purpose`` "agenda_add") is titled from its proposal, which names
the item that may never be added: «Про включення до порядку денного питання „…“», with the proposed
number and draft. A motion's ``textUrl``, the draft's page, is added as it is served, and only for a
draft residents may see (published: ``pages.PUBLIC_DOCUMENTS``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from portal_bridge.amendment_texts import amendment_number
from portal_bridge.minutes import agenda_add_title
from portal_bridge.opendata_rows import OpenDataRows
from session_server.domain.council import CouncilState
from session_server.domain.session_events import VoteClosed
from session_server.domain.session_state import SessionState
from session_server.domain.votes import Consideration
from session_server.extensions import Consumer, core_of
from session_server.http.responses import ApiError, JSONResponse, content_disposition, site_url, whole_number
from session_server.store.events import StoredEvent

MOTION_FIELDS = (
    "uid",
    "date",
    "authorityName",
    "authorityId",
    "convocation",
    "legislativeSession",
    "number",
    "title",
    "projectNumber",
    "votingFor",
    "votingAgainst",
    "votingAbstain",
    "notVoting",
    "absent",
    "composition",
    "votingResult",
    "votingKind",
    "amendments",
    "decisive",
    "textUrl",
    "committee",
)
VOTING_KIND: Final = {  # what a vote was on (``votingKind``); "" for a vote opened without a kind
    "basis": "за основу",
    "amendment": "поправка",
    "whole": "в цілому",
    "basis_and_whole": "за основу та в цілому",
    "conclusion": "висновок комісії",
}
PURPOSE: Final = {  # a procedural vote's ``votingKind``
    "agenda_add": "процедурне: включення питання до порядку денного",
    "end_debate": "процедурне: припинення обговорення",
    "break": "процедурне: перерва",
    "revote": "процедурне: переголосування",
    "other": "процедурне",
}
VOTING_FIELDS = ("motionUid", "voterId", "voterName", "motionTitle", "result")
DEPUTY_FIELDS = ("id", "name", "faction", "mayor")
YES_NO = {True: "так", False: "ні"}
"""How CSV writes a yes/no field."""
RESULT = {"adopted": "Прийнято", "rejected": "Не прийнято"}
LINE = {
    "for": "За",
    "against": "Проти",
    "abstain": "Утримався",
    "not_voted": "Не голосував",
    "absent": "Відсутній",
    "voted": "Голосував таємно",  # a secret ballot: who voted, never how (issue 20)
}


async def _mark_decisive(conn: asyncpg.Connection, state: SessionState, item: str) -> None:
    """``decisive`` on the item's motions: true only for the vote that settled its draft (its «в цілому», as
    held again where the council so decided, or a failed «за основу»); none while it is not settled."""
    settled = Consideration.of(state, item).outcome
    uid = f"{state.id}-{settled.id}" if settled is not None else ""
    await conn.execute(
        """UPDATE od_motions SET data = jsonb_set(data, '{decisive}', to_jsonb(uid = $3))
           WHERE session = $1 AND data->>'item' = $2 AND data ? 'decisive'""",
        state.id,
        item,
        uid,
    )


def vote_composition(statutory: int, mayor: str | None, roll_call: Mapping[str, str]) -> int:
    """The composition a closed vote was counted from: the statutory composition, plus the mayor when
    taking part (art. 59 part 2). The roll call tells: a registered member's line is a choice or
    ``not_voted``, an unregistered one's ``absent`` (or, since counting 2, no line for the mayor)."""
    taking_part = mayor is not None and roll_call.get(mayor, "absent") != "absent"
    return statutory + (1 if taking_part else 0)


class OpenData(Consumer):
    """Keeps ``od_motions`` and ``od_votings`` up to date with every closed vote."""

    name = "opendata"
    wake_on = frozenset({"vote.closed"})

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE od_motions, od_votings")

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        closed = [(e, d) for e in events if (d := e.of(VoteClosed))]
        if not closed:
            return
        # The sitting as it stands: a closed vote, its item and the proposal it voted on never change after it
        # closed (the agenda is fixed once the sitting opens; items added later are other items).
        state: SessionState = await self.application.current(stream)
        # a committee's sitting counts its own members and composition (art. 47)
        council = (await self.application.council(state.council, conn=conn)).body(state.committee)
        for event, data in closed:
            await self._motion(conn, state, event, data, council)
        for item in {state.votes[d.vote].item for _, d in closed}:
            await _mark_decisive(conn, state, item)

    async def _motion(
        self,
        conn: asyncpg.Connection,
        state: SessionState,
        event: StoredEvent,
        closed: VoteClosed,
        council: CouncilState,
    ) -> None:
        vote = state.votes[closed.vote]
        if vote.purpose == "agenda_add" and vote.proposal is not None:
            # The item it would add may never exist (a rejected proposal's id goes to the next one): the
            # proposal names it, with the number and the draft it was proposed with.
            proposal = vote.proposal
            number, title, draft = str(proposal.get("number", "")), agenda_add_title(proposal), proposal.get("draft")
        else:
            item = state.agenda.get(vote.item)
            number, title, draft = (
                (item.number, f"{item.title} ({vote.subject})", item.draft)
                if item
                else ("", f" ({vote.subject})", None)
            )
        tally = closed.tally
        uid = f"{state.id}-{vote.id}"
        motion = {
            "uid": uid,
            "date": event.at[:10],
            "authorityName": council.name,
            "authorityId": council.id,
            "convocation": state.convocation,
            "legislativeSession": state.number,
            "number": number,
            "title": title,
            "projectNumber": draft or "",
            "votingFor": tally["for"],
            "votingAgainst": tally["against"],
            "votingAbstain": tally["abstain"],
            "notVoting": tally["not_voted"],
            "absent": tally["absent"],
            "composition": vote_composition(council.composition, council.mayor, closed.roll_call),
            "votingResult": RESULT[tally["outcome"]],
            "votingKind": (VOTING_KIND.get(vote.kind or "", "") if vote.purpose is None else PURPOSE[vote.purpose])
            + (" (таємне голосування)" if vote.secret else ""),
            # an amendment vote's amendments of the draft, by number («1; 3» when put jointly), or those a
            # committee's conclusion proposes
            "amendments": "; ".join(str(amendment_number(a)) for a in vote.amendments),
            "decisive": False,  # set for the vote that settled the draft (``_mark_decisive``)
            # a standing committee's vote: the committee's name (not a Resolution 835 field; "" for the plenary)
            "committee": council.committees[state.committee].name if state.committee else "",
            # (``textUrl`` is added as the motion is served: ``motions``.)
            # Not among the published fields (``_render`` keeps only those): Popolo's requirement.
            "rule": vote.rule.value,
            "item": vote.item,
            "kind": vote.kind,
            "purpose": vote.purpose,
            "required": tally["required"],
            "committee_id": state.committee,
        }
        votings = [
            {
                "motionUid": uid,
                "voterId": member,
                "voterName": council.deputies[member].name if member in council.deputies else member,
                "motionTitle": title,
                "result": LINE[line],
            }
            for member, line in closed.roll_call.items()
        ]
        await conn.execute(
            """INSERT INTO od_motions (uid, session, position, data) VALUES ($1, $2, $3, $4::jsonb)
               ON CONFLICT (uid) DO UPDATE SET data = EXCLUDED.data, position = EXCLUDED.position""",
            uid,
            state.id,
            event.seq,
            orjson.dumps(motion).decode(),
        )
        await conn.executemany(
            """INSERT INTO od_votings (motion_uid, voter_id, ordinal, data) VALUES ($1, $2, $3, $4::jsonb)
               ON CONFLICT (motion_uid, voter_id) DO UPDATE SET data = EXCLUDED.data, ordinal = EXCLUDED.ordinal""",
            [(uid, v["voterId"], n, orjson.dumps(v).decode()) for n, v in enumerate(votings)],
        )


# ---- endpoints ---------------------------------------------------------------------------------


def _render(rows: list[dict[str, Any]], fields: Sequence[str], fmt: str, name: str) -> Response:
    rows = [{f: row.get(f) for f in fields} for row in rows]  # the published field order (jsonb sorts keys)
    if fmt == "json":
        return JSONResponse(rows)
    return Response(csv_bytes(rows, fields), media_type="text/csv; charset=utf-8", headers=_attachment(name))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes for the start of a formula in a text cell (OWASP, "CSV Injection")."""


def csv_cell(value: Any) -> Any:
    """A cell as written: booleans as «так»/«ні»; text a spreadsheet would run as a formula gets a leading
    ``'`` (OWASP's escape: the cell shows the text, with the quote, and nothing runs). Numbers stay numbers."""
    if isinstance(value, bool):
        return YES_NO[value]
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(rows: list[dict[str, Any]], fields: Sequence[str]) -> bytes:
    """``rows`` as CSV: UTF-8 with a byte-order mark, a header row, CRLF, cells by ``csv_cell``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": content_disposition(f"{name}.csv", attachment=True)}


def _format(request: Request) -> str:
    fmt = request.path_params["format"]
    if fmt not in ("csv", "json"):
        raise ApiError(404, "not_found", "open data comes as .csv or .json")
    return str(fmt)


def _convocation(request: Request) -> int | None:
    raw = request.query_params.get("convocation")
    return None if raw is None else whole_number(raw, "convocation", low=1, high=100)


async def motions(request: Request) -> Response:
    """``/opendata/ua835/motions.{csv,json}[?session=ID|?convocation=N]``: one row per closed vote.

    ``textUrl`` is the draft's page on the portal, taken as the row is served: a draft's page is public
    only once the draft is published, which may be after the vote was closed (``pages.PUBLIC_DOCUMENTS``).
    """
    fmt, session, convocation = _format(request), request.query_params.get("session"), _convocation(request)
    site = site_url(request)
    motions = [
        {**motion, "textUrl": f"{site}/decisions/{document}" if document else ""}
        for motion, document in await OpenDataRows(core_of(request).database).motions(session, convocation)
    ]
    return _render(motions, MOTION_FIELDS, fmt, "motions")


async def votings(request: Request) -> Response:
    """``/opendata/ua835/votings.{csv,json}[?session=ID|?convocation=N]``: one row per member per closed vote."""
    fmt, session, convocation = _format(request), request.query_params.get("session"), _convocation(request)
    rows = await OpenDataRows(core_of(request).database).votings(session, convocation)
    return _render(rows, VOTING_FIELDS, fmt, "votings")


async def deputies(request: Request) -> Response:
    """``/opendata/ua835/deputies.{csv,json}``: the council's members."""
    fmt = _format(request)
    sessions = core_of(request).application
    council_id = await sessions.council_id()
    if council_id is None:
        raise ApiError(404, "council_not_found", "no council yet")
    council = await sessions.council(council_id)
    rows = [
        {"id": d.id, "name": d.name, "faction": d.faction or "", "mayor": d.mayor} for d in council.deputies.values()
    ]
    return _render(rows, DEPUTY_FIELDS, fmt, "deputies")


def routes() -> list[BaseRoute]:
    """The open-data routes (mounted at the root, not under /api/v1)."""
    return [
        Route("/opendata/ua835/motions.{format}", motions),
        Route("/opendata/ua835/votings.{format}", votings),
        Route("/opendata/ua835/deputies.{format}", deputies),
    ]
