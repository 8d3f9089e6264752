"""The residents' portal, server-rendered (Jinja2), Ukrainian, no JavaScript.

``/`` sittings (live, upcoming, past) and the newest decisions; ``/sessions``, ``/decisions`` and
``/deputies`` the index pages (``portal_bridge/indexes.py``); ``/sessions/{id}`` the agenda with each
vote's result and roll call, the composition it was counted from and how to verify them;
``/decisions/{id}`` a decision's text, files, the mayor's signature checked, its vote and history;
``/deputies/{id}`` a member's faction, attendance, voting record and declared conflicts;
``/search?q=`` decisions and agenda items. Errors are pages too (``pages.page``).

Texts that hold a number, a date or a member's gender are made with ``portal_bridge.ukrainian``;
names are never declined: sentences are built so that a name stays in the nominative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from portal_bridge import indexes, members
from portal_bridge.amendment_texts import author_words, change_words
from portal_bridge.amendment_views import proposing_committees, text_diff
from portal_bridge.decisions import documents_of
from portal_bridge.document_rows import PublicDocuments
from portal_bridge.indexes import DOCUMENT_STATUS, STATUS, UNAFFILIATED
from portal_bridge.minutes import OUTCOMES, agenda_add_title
from portal_bridge.opendata import vote_composition
from portal_bridge.opendata_rows import OpenDataRows
from portal_bridge.pages import DEPUTY_NOT_FOUND, UNPUBLISHED, PageError, council_of, page, render
from portal_bridge.search import find, item_numbers, words
from portal_bridge.ukrainian import (
    composition_line,
    conclusion_lines,
    long_date,
    registration_line,
    roll_call_line,
)
from session_server.application import session_stream
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.session import to_public
from session_server.extensions import core_of
from session_server.http.responses import site_url

KYIV: Final = ZoneInfo("Europe/Kyiv")
HISTORY: Final = {
    "draft.registered": "проєкт зареєстровано",
    "draft.attached": "додано файл",
    "draft.published": "проєкт оприлюднено",
    "draft.scheduled": "включено до порядку денного",
    "decision.adopted": "рішення прийнято",
    "decision.rejected": "рішення не прийнято",
    "decision.signed": "підписано міським головою",
    "decision.published": "рішення оприлюднено",
    "execution.assigned": "поставлено на контроль",
    "execution.reported": "звіт про виконання",
    "amendment.proposed": "подано поправку",
    "amendment.withdrawn": "поправку відкликано",
    "amendment.decided": "проголосовано поправку",
    "draft.assigned": "направлено до постійної комісії",
    "conclusion.recorded": "висновок постійної комісії",
}
AMENDMENT_STATUS: Final = {
    "proposed": "не голосувалася",
    "withdrawn": "відкликана автором",
    "adopted": "прийнята",
    "rejected": "не прийнята",
}
THRESHOLD: Final = {
    "majority_of_composition": "більшість від складу ради",
    "two_thirds_of_composition": "дві третини складу ради",
    "majority_of_registered": "більшість від зареєстрованих",
}
# The open data's roll-call words (``opendata.LINE``) back to the roll-call values.
LINE_VALUE: Final = {
    "За": "for",
    "Проти": "against",
    "Утримався": "abstain",
    "Не голосував": "not_voted",
    "Відсутній": "absent",
    "Голосував таємно": "voted",
}


def groups(council: CouncilState, members: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """``members`` (ids, in any order) grouped as the council lists them: each faction in the council's
    order, then the deputies of no faction; the mayor apart, last. Empty groups are left out."""
    out = [(faction or UNAFFILIATED, ids) for faction, ids in council.by_faction(members)]
    mayor = council.mayor
    if mayor is not None and mayor in members:
        out.append(("Міський голова", [mayor]))
    return out


class RollCallLayout:
    """How one page lays out roll calls: the council's groups once, each line in the member's gender.

    A session page holds every vote of the sitting (a hundred and more); what is the same for all of
    them is worked out once here, not per vote.
    """

    def __init__(self, council: CouncilState) -> None:
        self.council = council
        self.order = groups(council, council.deputies)
        self.genders = {m: d.gender for m, d in council.deputies.items()}
        self._lines: dict[tuple[str, str | None], str] = {}
        self._rows: dict[tuple[str, str], Markup] = {}
        self._compositions: dict[bool, str] = {}

    def line(self, value: str, member: str) -> str:
        gender = self.genders.get(member)
        key = (value, gender)
        if key not in self._lines:
            self._lines[key] = roll_call_line(value, gender)
        return self._lines[key]

    def row(self, member: str, value: str) -> Markup:
        """A member's roll-call row, escaped once per page: a page of a hundred votes repeats each
        member's few possible rows thousands of times, and the template would escape each anew."""
        key = (member, value)
        row = self._rows.get(key)
        if row is None:
            deputy = self.council.deputies.get(member)
            name = deputy.name if deputy is not None else member
            row = self._rows[key] = Markup(
                '<tr><th scope="row"><a href="/deputies/{}">{}</a></th><td>{}</td></tr>'
            ).format(member, name, self.line(value, member))
        return row

    def composition(self, taking_part: bool) -> str:
        if taking_part not in self._compositions:
            statutory = self.council.composition
            total = statutory + (1 if taking_part else 0)
            parts = {"statutory": statutory, "mayor_taking_part": taking_part, "total": total}
            self._compositions[taking_part] = composition_line(parts)
        return self._compositions[taking_part]

    def vote(self, vote: dict[str, Any], now: int) -> dict[str, Any]:
        """A vote as the page shows it: threshold, state, and once closed its total and roll call, and
        the composition it was counted from when that differs from the sitting's now (``now``: the
        mayor came or left since), which the page states once above the agenda."""
        adopted = vote["tally"] is not None and vote["tally"]["outcome"] == "adopted"
        view = {**vote, "threshold": THRESHOLD.get(vote["rule"], vote["rule"]), "adopted": adopted}
        if vote["purpose"] == "agenda_add":  # titled from its proposal, worded as the minutes word it
            view["title"] = agenda_add_title(vote["proposal"] or {})
            view["outcome"] = OUTCOMES[True][adopted]
        if vote["status"] == "open":
            view["status_text"] = "Голосування триває."
        elif vote["status"] == "cancelled":
            view["status_text"] = f"Голосування скасовано: {vote['reason']}."
        if vote["tally"] is None:
            return view
        roll_call: dict[str, str] = vote["roll_call"] or {}
        mayor = self.council.mayor
        total = vote_composition(self.council.composition, mayor, roll_call)
        view["composition"] = self.composition(total > self.council.composition) if total != now else None
        view["total"] = total
        view["groups"] = [
            (name, Markup("").join([self.row(m, roll_call[m]) for m in members if m in roll_call]))
            for name, members in self.order
            if any(m in roll_call for m in members)
        ]
        former = [self.row(m, value) for m, value in roll_call.items() if m not in self.council.deputies]
        if former:  # members since removed from the roster keep their line
            view["groups"].append(("Колишні члени ради", Markup("").join(former)))
        return view


@page
async def session_page(request: Request) -> Response:
    """The agenda with each vote's result and roll call, the composition, and how to verify them.

    Votes on including an item in the agenda are filed apart, as the minutes file them: such a vote's
    ``item`` is the id the item would get, and a rejected proposal's id goes to the next proposal.
    """
    state, council = await core_of(request).application.session(request.path_params["session"])
    public = to_public(state, council)
    numbers = await PublicDocuments(core_of(request).database).by_number()
    names = {d.id: d.name for d in council.deputies.values()}
    layout = RollCallLayout(council.body(state.committee))  # a committee's votes: its composition and members
    now = public["composition"]["total"]
    agenda = {item["id"]: item for item in public["agenda"]}
    views = {v["id"]: layout.vote(v, now) for v in public["votes"]}
    on_agenda = {v["id"] for v in public["votes"] if v["purpose"] != "agenda_add" and v["item"] in agenda}
    added_by = {v["item"]: v["id"] for v in views.values() if v["purpose"] == "agenda_add" and v["adopted"]}
    items = []
    for item in public["agenda"]:
        votes = [views[v["id"]] for v in public["votes"] if v["id"] in on_agenda and v["item"] == item["id"]]
        conflicts = [
            (names.get(c["deputy"], c["deputy"]), c["reason"]) for c in public["conflicts"] if c["item"] == item["id"]
        ]
        document = numbers.get(item["draft"] or "")
        items.append(
            {**item, "votes": votes, "conflicts": conflicts, "document": document, "added_by": added_by.get(item["id"])}
        )
    agenda_votes = [view for vote_id, view in views.items() if vote_id not in on_agenda]
    for view in agenda_votes:
        proposal = view["proposal"] or {}
        view["document"] = numbers.get(proposal.get("draft") or "")
        view["added"] = agenda.get(view["item"]) if view["adopted"] else None
    composition = public["composition"]
    witnessed = await _witnessed(request, council, public["id"])
    return render(
        "session.html",
        witnessed=witnessed,
        council=council,
        section="sessions",
        s=public,
        status=STATUS[public["status"]],
        registration=registration_line(composition) if public["status"] != "scheduled" else None,
        composition=composition_line(composition),
        items=items,
        agenda_votes=agenda_votes,
        base=site_url(request),
    )


async def _witnessed(request: Request, council: CouncilState, session: str) -> dict[str, Any] | None:
    """The sitting's latest checkpoint and who of the council's witnesses cosigned it (None: no witnesses)."""
    ledger = core_of(request).ledger
    if not council.witnesses or ledger is None:
        return None
    cosigners = await ledger.cosigners(session_stream(session), 1)
    if not cosigners:
        return None
    size, keys = cosigners[-1]
    names = [w.name for w in council.witnesses if w.key in keys]
    return {
        "size": size,
        "names": names,
        "needed": council.witnesses_needed,
        "done": len(names) >= council.witnesses_needed,
        "witnesses": council.witnesses,
    }


def _moment(at: str) -> str:
    """An event's time as the council's documents give it: «2 грудня 2026 р., 10:15» (Kyiv time)."""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(KYIV)
    except ValueError:
        return at
    return f"{long_date(moment.date())}, {moment:%H:%M}"


@page
async def decision_page(request: Request) -> Response:
    """A decision: text, files, the signature checked here, its vote and history."""
    council = await council_of(request)
    state = await documents_of(request).document(request.path_params["document"])
    if state.status == UNPUBLISHED:  # residents see a draft once it is published, as if it were not there before
        raise DomainError("document_not_found", f"document {state.id!r} is not published")
    vote = votings = None
    if state.session and state.vote:
        vote, votings = await OpenDataRows(core_of(request).database).motion(f"{state.session}-{state.vote}")
        for voting in votings:  # the open data's words are the masculine forms: each member's own here
            member = council.deputies.get(voting["voterId"])
            line = LINE_VALUE.get(voting["result"], "absent")
            voting["result"] = roll_call_line(line, member.gender if member else None)
    view = {
        **{k: getattr(state, k) for k in ("id", "number", "title", "initiator", "rapporteur", "text", "session")},
        "decision_number": state.decision_number,
        "attachments": state.attachments,
        "signature": state.signature,
        "history": [{"at": _moment(at), "label": HISTORY.get(t, t)} for t, at in state.history],
        "draft_text": state.draft_text,
        "amendments": [
            {
                "number": a.number,
                "author": author_words(a, council),
                "reason": a.reason,
                "changes": [change_words(c) for c in a.changes],
                "status": AMENDMENT_STATUS[a.status],
                "adopted": a.status == "adopted",
                "proposed_by": [
                    found.name if (found := council.committees.get(c)) is not None else c
                    for c in proposing_committees(state, a.id)
                ],
            }
            for a in sorted(state.amendments.values(), key=lambda a: a.number)
        ],
        "diff": text_diff(state.draft_text, state.text) if state.adopted_amendments else None,
        "conclusions": conclusion_lines(state.committees, state.conclusions, council),
    }
    return render(
        "decision.html",
        council=council,
        section="decisions",
        d=view,
        status=DOCUMENT_STATUS[state.status],
        vote=vote,
        votings=votings,
        base=site_url(request),
    )


@page
async def deputy_page(request: Request) -> Response:
    """A member: faction, attendance, voting record, declared conflicts."""
    council = await council_of(request)
    member = request.path_params["deputy"]
    deputy = council.deputies.get(member)
    if deputy is None:
        raise PageError(404, *DEPUTY_NOT_FOUND)
    pool = core_of(request).database
    votes = [
        {**motion, "session": session, "line": LINE_VALUE.get(voting["result"], "absent")}
        for voting, motion, session in await OpenDataRows(pool).member_votes(member)
    ]
    for vote in votes:
        vote["result"] = roll_call_line(vote["line"], deputy.gender)
        vote["vote"] = vote["uid"].removeprefix(f"{vote['session']}-")  # its place on the session's page
    # attendance at the council's plenary sittings, and at each of the member's committees' own
    sittings = core_of(request).sittings
    sessions = await sittings.count(held_only=True, body=None)
    attended = await members.attended(pool, member)
    titles = await core_of(request).sittings.titles()
    conflicts = [
        {**c, "deputy": member, "title": titles.get(c["session"], c["session"])}
        for c in await members.conflicts(pool, member)
    ]
    items = await item_numbers(pool)
    for conflict in conflicts:
        conflict["number"] = items.get((conflict["session"], conflict["item"]), conflict["item"])
    committees = [
        {
            "id": c.id,
            "name": c.name,
            "office": next((w for o, w in OFFICES.items() if getattr(c, o) == member), None),
            "attended": await members.attended(pool, member, c.id),
            "sessions": await sittings.count(held_only=True, body=c.id),
        }
        for c in council.committees.values()
        if member in c.members
    ]
    return render(
        "deputy.html",
        council=council,
        section="deputies",
        deputy=deputy,
        committees=committees,
        votes=votes,
        sessions=sessions,
        attended=attended,
        conflicts=conflicts,
    )


OFFICES: Final = {"chair": "голова комісії", "deputy_chair": "заступник голови", "secretary": "секретар комісії"}


@page
async def committees_page(request: Request) -> Response:
    """The council's standing committees."""
    council = await council_of(request)
    names = {d.id: d.name for d in council.deputies.values()}
    committees = [
        {
            "id": c.id,
            "name": c.name,
            "composition": c.composition,
            "members": c.members,
            "chair": names.get(c.chair, c.chair),
        }
        for c in council.committees.values()
    ]
    return render("committees.html", council=council, section="committees", committees=committees)


@page
async def committee_page(request: Request) -> Response:
    """A standing committee: its members and officers, its sittings with their protocols, the drafts sent to it
    and what it concluded on each."""
    council = await council_of(request)
    found = council.committees.get(request.path_params["committee"])
    if found is None:
        raise PageError(404, "Такої комісії немає", "Рада не має постійної комісії з такою адресою.")
    offices = {getattr(found, o): words for o, words in OFFICES.items() if getattr(found, o)}
    members = [
        {"id": m, "name": council.deputies[m].name if m in council.deputies else m, "office": offices.get(m)}
        for m in found.members
    ]
    sittings = [
        {**s, "status": STATUS.get(s["status"], s["status"]), "held": s["status"] != "scheduled"}
        for s in await core_of(request).sittings.listed()
        if s.get("committee") == found.id
    ]
    documents = documents_of(request)
    drafts = []
    for row in await documents.list():
        state = await documents.document(row["id"])
        if found.id not in state.committees or state.status == UNPUBLISHED:
            continue
        [line] = conclusion_lines({found.id: state.committees[found.id]}, state.conclusions, council)
        drafts.append(
            {
                "id": state.id,
                "number": state.number,
                "title": state.title,
                "lead": state.committees[found.id],
                "conclusion": line.split(": ", 1)[1],
            }
        )
    view = {"name": found.name, "composition": found.composition, "members": members}
    return render("committee.html", council=council, section="committees", c=view, sittings=sittings, drafts=drafts)


@page
async def search_page(request: Request) -> Response:
    """Search results as a page."""
    council = await council_of(request)
    text = request.query_params.get("q", "")
    terms = words(text)
    documents: list[Any] = []
    items: list[Any] = []
    if terms:
        found = await find(core_of(request).database, terms)
        documents, items = found.documents, found.items
    titles = await core_of(request).sittings.titles([i["session"] for i in items])
    return render(
        "search.html",
        council=council,
        section="search",
        query=text,
        searched=bool(terms),
        documents=documents,
        items=items,
        titles=titles,
    )


def routes() -> list[BaseRoute]:
    """The portal's pages at the site's root."""
    return [
        Route("/", page(indexes.home)),
        Route("/sessions", page(indexes.sessions)),
        Route("/sessions/{session}", session_page),
        Route("/decisions", page(indexes.decisions)),
        Route("/decisions/{document}", decision_page),
        Route("/deputies", page(indexes.deputies)),
        Route("/deputies/{deputy}", deputy_page),
        Route("/committees", committees_page),
        Route("/committees/{committee}", committee_page),
        Route("/search", search_page),
    ]
