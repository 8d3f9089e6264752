"""The session's minutes (протокол), generated from its log, fit for the chair and the secretary to sign.

Pure: ``build`` takes the session's events and the council and returns what ``minutes.html`` lays out.
Every sentence that holds a number, a gender or a law is made here (through ``portal_bridge.ukrainian``),
so the template only arranges them. What the minutes record:

- the header once: the council, «пленарного засідання 45 сесії VIII скликання», the date in words, and
  the times the meeting opened and closed (Kyiv time) with their ledger entries;
- attendance as the screens state it (``registration_line``), taken when registration closed or, when it
  never closed before voting, when the first vote opened — what a protocol records at the opening —
  with who was registered and who was absent in the council's roster order, then who came or left later;
- for each item the speakers, the conflict-of-interest declarations (art. 59-1) and every vote: its
  threshold in words, the composition it was counted from (``composition_line``, taken from the log at
  the close, as the count was), the numbers, the outcome and the roll call grouped by faction in the
  council's order (``CouncilState.factions``), deputies without a faction after them, the mayor apart;
- «запис журналу № N» for each key event, N being the event's ``seq`` (the ledger's receipt takes it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from portal_bridge.amendment_texts import amendment_number, amendment_texts
from portal_bridge.documents import DocumentState
from portal_bridge.ukrainian import (
    RECOMMENDATIONS,
    composition_line,
    conclusion_lines,
    deputies,
    long_date,
    plural,
    proposed_amendments,
    quoted,
    registration_line,
    roll_call_line,
    roman,
)
from session_server.domain.council import CouncilState
from session_server.domain.session_events import (
    ConflictDeclared,
    ItemFinished,
    ItemStarted,
    PresenceLeft,
    PresenceRegistered,
    RegistrationClosed,
    SessionClosed,
    SessionOpened,
    SessionScheduled,
    SpeakerGranted,
    VoteCancelled,
    VoteClosed,
    VoteOpened,
)
from session_server.domain.session_state import SessionState, Vote, composition, evolve
from session_server.store.events import StoredEvent
from voting.rules import Rule

__all__ = [
    "Attendance",
    "Entry",
    "Group",
    "ItemRecord",
    "Minutes",
    "VoteRecord",
    "agenda_add_title",
    "build",
    "quoted",
]

KYIV: Final = ZoneInfo("Europe/Kyiv")

THRESHOLDS: Final = {
    Rule.MAJORITY_OF_COMPOSITION: "більшістю голосів від складу ради",
    Rule.TWO_THIRDS_OF_COMPOSITION: "двома третинами голосів від складу ради",
    Rule.MAJORITY_OF_REGISTERED: "більшістю голосів від зареєстрованих",
}
KINDS: Final = {  # what a vote of each kind is on, as the minutes name it
    "basis": "проєкт рішення за основу",
    "amendment": "поправка до проєкту рішення",
    "whole": "проєкт рішення в цілому з урахуванням пропозицій",
    "basis_and_whole": "проєкт рішення за основу та в цілому",
    "procedural": "процедурне питання",
    "conclusion": "висновок комісії щодо проєкту рішення",
}
PURPOSES: Final = {
    "agenda_add": "включення питання до порядку денного",
    "end_debate": "припинення обговорення",
    "break": "перерва",
    "revote": "переголосування",
    "other": "інше процедурне питання",
}
KIND_OUTCOMES: Final = {  # [kind][adopted]; procedural ones by purpose, below
    "basis": {
        True: "проєкт рішення прийнято за основу",
        False: "проєкт рішення не прийнято за основу; розгляд завершено",
    },
    "whole": {True: "рішення прийнято в цілому", False: "рішення не прийнято"},
    "basis_and_whole": {True: "рішення прийнято за основу та в цілому", False: "рішення не прийнято"},
    "procedural": {True: "процедурне рішення прийнято", False: "процедурне рішення не прийнято"},
    "amendment": {True: "поправку прийнято", False: "поправку не прийнято"},
}
JOINT_AMENDMENTS: Final = {True: "поправки прийнято", False: "поправки не прийнято"}
REVOTE_OUTCOMES: Final = {
    True: "переголосувати голосування {}",
    False: "голосування {} не переголосовувати",
}
OUTCOMES: Final = {  # [is an agenda_add vote][adopted]
    False: {True: "рішення прийнято", False: "рішення не прийнято"},
    True: {True: "питання включено до порядку денного", False: "питання не включено до порядку денного"},
}
UNAFFILIATED: Final = "Позафракційні депутати"
MAYOR: Final = "Міський голова"


@dataclass(frozen=True, slots=True)
class Entry:
    """An event of the log as the minutes cite it: its ``seq`` and its time in Kyiv («10:05»)."""

    seq: int
    time: str

    @property
    def ref(self) -> str:
        """«запис журналу № N»: N is the event's seq, as the ledger API and ``kvorum verify`` count."""
        return f"запис журналу №\u00a0{self.seq}"  # «№» never parted from its number


@dataclass(frozen=True, slots=True)
class Group:
    """One group of a roll call: a faction, the deputies without one, or the mayor; ``(name, line)`` pairs."""

    title: str
    lines: list[tuple[str, str]]


@dataclass(slots=True)
class VoteRecord:
    """A vote as the minutes record it; the sentences are ready to print."""

    number: int
    subject: str
    status: str
    threshold: str  # «Рішення приймається більшістю голосів від складу ради; потрібно 18 голосів «за».»
    composition_line: str | None
    composition: Mapping[str, Any] | None  # the session's composition the vote was counted from
    tally: Mapping[str, Any] | None
    numbers: str | None  # «За — 18, проти — 1, утрималися — 0, не голосували — 1, відсутні — 14.»
    adopted: bool | None
    outcome: str | None  # «рішення прийнято», «питання включено до порядку денного»…
    roll_call: list[Group]
    reason: str | None
    entry: Entry | None  # vote.closed or vote.cancelled
    proposal: str | None = None  # an agenda_add vote's item: «6. Про … (проєкт рішення ПР-106)»
    kind: str | None = None  # «Голосується: проєкт рішення за основу.»; None for a vote opened without a kind
    amendments: list[str] = field(default_factory=list)  # an amendment vote's amendments, each with its text


@dataclass(slots=True)
class ItemRecord:
    """An agenda item with what happened while it was considered."""

    number: str  # the item's own number, printed once («1.»)
    title: str
    draft: str | None
    status: str
    speakers: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str, Entry]] = field(default_factory=list)  # (name, reason, entry)
    votes: list[VoteRecord] = field(default_factory=list)
    added_by: int | None = None  # the number of the vote that included it in the open sitting's agenda
    conclusions: list[str] = field(default_factory=list)  # the standing committees' on its draft, at the plenary


@dataclass(slots=True)
class Attendance:
    """Who was registered when the plenary meeting's registration was taken, as the screens count it."""

    moment: str  # «Реєстрацію завершено: 10:07 (запис журналу № 24).»
    entry: Entry | None  # the event the figures were taken at
    line: str  # ``registration_line`` of the composition then
    competent: bool
    composition: Mapping[str, Any]
    registered: list[str]  # deputies, in the council's roster order
    absent: list[str]
    mayor: str | None  # «Міський голова Михайло Степаненко — бере участь у засіданні.»
    later: list[str] = field(default_factory=list)  # registered after that moment, in order
    left: list[str] = field(default_factory=list)  # left the meeting after it, in order

    @property
    def registered_heading(self) -> str:
        """«Зареєстровані депутати (20 депутатів)» — the count agrees with its noun."""
        return f"Зареєстровані ({deputies(len(self.registered))})"

    @property
    def absent_heading(self) -> str:
        """«Відсутні (14 депутатів)»."""
        return f"Відсутні ({deputies(len(self.absent))})"


@dataclass(slots=True)
class Minutes:
    """Everything the minutes show."""

    session: str
    council: str
    title: str  # the session's own title: the page's <title>, not repeated in the header
    sitting: str  # «45 сесії VIII скликання»
    date: str  # «2 грудня 2026 р.»
    place: str | None
    status: str
    opened: Entry | None
    closed: Entry | None
    attendance: Attendance
    items: list[ItemRecord]
    agenda_votes: list[VoteRecord]  # on including items in the open sitting's agenda, in order
    mayor: str | None  # the mayor's name for the signature line
    committee: str | None = None  # a standing committee's sitting: the committee's name (its protocol)
    signers: list[tuple[str, str]] = field(default_factory=list)  # (office, name) under a committee's protocol

    @property
    def heading(self) -> str:
        """«пленарного засідання 45 сесії VIII скликання», or «засідання № 1 постійної комісії з питань …»:
        what the header says the minutes are of."""
        if self.committee is not None:
            return f"засідання № {self.sitting} {genitive_committee(self.committee)}"
        return f"пленарного засідання {self.sitting}"


def build(
    events: Sequence[StoredEvent], council: CouncilState, drafts: Mapping[str, DocumentState] | None = None
) -> Minutes:
    """The minutes of the session whose whole stream is ``events`` (raises ValueError for an empty one);
    ``drafts`` are the documents of its items' drafts by registry number, whose amendments the amendment
    votes name."""
    if not events:
        raise ValueError("an empty stream has no minutes")
    day = events[0].data.date if isinstance(events[0].data, SessionScheduled) else ""
    committee = events[0].data.committee if isinstance(events[0].data, SessionScheduled) else None
    roster = council  # names: anyone of the council may speak at a committee's sitting
    council = council.body(committee)  # who is counted: the committee's members and composition (art. 47)
    state: SessionState | None = None
    opened = closed = None
    attendance: Attendance | None = None
    current: str | None = None
    speakers: dict[str, list[str]] = {}
    conflicts: dict[str, list[tuple[str, str, Entry]]] = {}
    counted: dict[str, tuple[dict[str, Any], Entry]] = {}  # vote id → composition at its end, and the event
    for event in events:
        entry = Entry(event.seq, _time(event.at, day))
        data = event.data
        if isinstance(data, VoteClosed | VoteCancelled) and state is not None:
            counted[data.vote] = (composition(state, council), entry)  # the registration the count used
        if attendance is None and isinstance(data, VoteOpened) and state is not None:
            moment = (
                "Реєстрацію до першого голосування не завершено; нижче — реєстрація на час його відкриття: "
                f"{entry.time} ({entry.ref})."
            )
            attendance = _attendance(state, council, moment, entry)
        state = evolve(state, event)
        match data:
            case SessionOpened():
                opened = opened or entry
            case SessionClosed():
                closed = entry
            case RegistrationClosed() if attendance is None:
                attendance = _attendance(state, council, f"Реєстрацію завершено: {entry.time} ({entry.ref}).", entry)
            case PresenceRegistered(deputy=deputy) if attendance is not None:
                attendance.later.append(_member(council, deputy))
            case PresenceLeft(deputy=deputy) if attendance is not None:
                attendance.left.append(_member(council, deputy))
            case ItemStarted(item=started):
                current = started
            case ItemFinished():
                current = None
            case SpeakerGranted(deputy=deputy) if current is not None:
                speakers.setdefault(current, []).append(_name(roster, deputy))
            case ConflictDeclared():
                conflicts.setdefault(data.item, []).append((_name(roster, data.deputy), data.reason, entry))
    assert state is not None  # the stream was not empty
    if attendance is None:
        moment = "Реєстрацію не завершено; нижче — реєстрація " + (
            f"на час закриття засідання: {closed.time} ({closed.ref})." if closed is not None else "на цей час."
        )
        attendance = _attendance(state, council, moment, closed)
    numbers = {vote_id: n for n, vote_id in enumerate(state.votes, start=1)}
    records = {vote.id: _vote(vote, numbers[vote.id], counted.get(vote.id), council) for vote in state.votes.values()}
    for vote in state.votes.values():
        if vote.amendments:  # each amendment voted on, or a conclusion proposes, with its author, reason and text
            item = state.agenda.get(vote.item)
            draft = (drafts or {}).get(item.draft or "") if item is not None else None
            records[vote.id].amendments = amendment_texts(draft, vote.amendments, council)
    for vote in state.votes.values():
        if vote.secret:  # the question's citation, the commission that counted it and who of it decrypted
            records[vote.id].kind = f"{records[vote.id].kind or ''} {_secret_line(vote, state, roster)}".strip()
    for vote in state.votes.values():
        if vote.revote is not None and vote.revote in numbers:  # which vote the council was asked to hold again
            decision = records[vote.id]
            decision.kind = f"{decision.kind[:-1]} голосування {numbers[vote.revote]}." if decision.kind else None
            if decision.adopted is not None:
                decision.outcome = REVOTE_OUTCOMES[decision.adopted].format(numbers[vote.revote])
    # A vote on including an item belongs to the agenda, not to the item: a rejected proposal's item id
    # is free again and may be given to the next one. A vote is never left out for want of an item.
    on_agenda = {v.id for v in state.votes.values() if v.purpose != "agenda_add" and v.item in state.agenda}
    items = []
    for item in state.agenda.values():
        record = ItemRecord(item.number.rstrip(". "), item.title, item.draft, item.status)
        record.speakers = speakers.get(item.id, [])
        record.conflicts = conflicts.get(item.id, [])
        draft = (drafts or {}).get(item.draft or "")
        if draft is not None and state.committee is None:
            record.conclusions = conclusion_lines(draft.committees, draft.conclusions, council)
        record.votes = [records[v.id] for v in state.votes.values() if v.id in on_agenda and v.item == item.id]
        record.added_by = next(
            (
                records[v.id].number
                for v in state.votes.values()
                if v.purpose == "agenda_add" and v.item == item.id and records[v.id].adopted
            ),
            None,
        )
        items.append(record)
    mayor = roster.deputies.get(roster.mayor) if roster.mayor is not None else None
    place = events[0].payload.get("place")
    found = roster.committees.get(committee) if committee is not None else None
    signers = []
    if found is not None:  # a committee's protocol is signed by its chair and its secretary
        signers = [("Голова комісії", _name(roster, found.chair))]
        signers.append(("Секретар комісії", _name(roster, found.secretary) if found.secretary else ""))
    return Minutes(
        session=state.id,
        council=council.name,
        title=state.title,
        sitting=str(state.number)
        if found is not None
        else f"{state.number} сесії {roman(state.convocation)} скликання",
        committee=found.name if found is not None else None,
        signers=signers,
        date=long_date(state.date),
        place=str(place) if place else None,
        status=state.status,
        opened=opened,
        closed=closed,
        attendance=attendance,
        items=items,
        agenda_votes=[records[vote_id] for vote_id in state.votes if vote_id not in on_agenda],
        mayor=mayor.name if mayor is not None else None,
    )


def _time(at: str, day: str) -> str:
    """«10:05» in Kyiv; with the date in words when the event fell on another day than the sitting's."""
    try:
        local = dt.datetime.fromisoformat(at).astimezone(KYIV)
    except ValueError:
        return at
    clock = f"{local:%H:%M}"
    return clock if local.date().isoformat() == day[:10] else f"{long_date(local.date())}, {clock}"


def _name(council: CouncilState, member: str) -> str:
    deputy = council.deputies.get(member)
    return deputy.name if deputy is not None else member


def _member(council: CouncilState, member: str) -> str:
    """A name as listed among deputies; the mayor marked as such (the mayor is not a deputy)."""
    return f"{_name(council, member)} (міський голова)" if member == council.mayor else _name(council, member)


def _attendance(state: SessionState, council: CouncilState, moment: str, entry: Entry | None) -> Attendance:
    figures = composition(state, council)
    roster = [d for d in council.deputies.values() if not d.mayor]
    mayor = council.deputies.get(council.mayor) if council.mayor is not None else None
    mayor_line = None
    if mayor is not None:
        taking_part = (
            "бере участь у засіданні" if figures["mayor_taking_part"] else roll_call_line("absent", mayor.gender)
        )
        mayor_line = f"{MAYOR} {mayor.name} — {taking_part}."
    return Attendance(
        moment=moment,
        entry=entry,
        line=registration_line(figures),
        competent=figures["registered_deputies"] >= figures["quorum"],
        composition=figures,
        registered=[d.name for d in roster if d.id in state.registered],
        absent=[d.name for d in roster if d.id not in state.registered],
        mayor=mayor_line,
    )


def _secret_line(vote: Vote, state: SessionState, council: CouncilState) -> str:
    """«Голосування таємне (п. 4 ч. 1 ст. 26): …; голоси підрахувала лічильна комісія у складі: …»."""
    citation = next((c for q, _, c in council.secret_questions if q == vote.question), None)
    said = f"Голосування таємне ({citation})" if citation else "Голосування таємне"
    line = f"{said}: бюлетені зашифровано на планшетах депутатів, як голосував кожен — не відомо нікому."
    commission = state.commission
    if commission is None or commission.key != vote.key:
        return line
    members = ", ".join(_name(council, m) for m in commission.members)
    decrypted = ", ".join(_name(council, commission.members[i - 1]) for i in sorted(vote.decryptions))
    line += f" Лічильна комісія: {members} (для підрахунку потрібно {commission.threshold})"
    return f"{line}; голоси підрахували {decrypted}." if decrypted else f"{line}."


def _kind(vote: Vote) -> str | None:
    """What the vote was on, as a sentence; None for a vote opened without a kind."""
    if vote.kind is None:
        return None
    if vote.kind == "amendment" and vote.amendments:
        numbers = [str(amendment_number(a)) for a in vote.amendments]
        if len(numbers) > 1:
            return (
                f"Голосуються разом поправки {' і '.join([', '.join(numbers[:-1]), numbers[-1]])} до проєкту рішення."
            )
        return f"Голосується поправка {numbers[0]} до проєкту рішення."
    if vote.kind == "procedural" and vote.purpose in PURPOSES:
        return f"Голосується процедурне питання: {PURPOSES[vote.purpose]}."
    if vote.kind == "conclusion" and vote.recommendation is not None:
        what = RECOMMENDATIONS.get(vote.recommendation, vote.recommendation)
        return f"Голосується висновок комісії щодо проєкту рішення: {what}{proposed_amendments(vote.amendments)}."
    return f"Голосується {KINDS.get(vote.kind, vote.kind)}."


def _outcome(vote: Vote, adopted: bool) -> str:
    """What the council decided, in the words of the vote's kind."""
    if vote.purpose == "agenda_add":
        return OUTCOMES[True][adopted]
    if vote.kind == "amendment" and len(vote.amendments) > 1:
        return JOINT_AMENDMENTS[adopted]
    if vote.kind == "conclusion" and vote.recommendation is not None:
        what = RECOMMENDATIONS.get(vote.recommendation, vote.recommendation)
        return f"висновок «{what}» {'ухвалено' if adopted else 'не ухвалено'}"
    if vote.kind in KIND_OUTCOMES:
        return KIND_OUTCOMES[vote.kind][adopted]
    return OUTCOMES[False][adopted]


def _vote(vote: Vote, number: int, counted: tuple[dict[str, Any], Entry] | None, council: CouncilState) -> VoteRecord:
    figures, entry = counted if counted is not None else (None, None)
    tally = vote.tally.as_dict() if vote.tally is not None and vote.status == "closed" else None
    threshold = THRESHOLDS.get(vote.rule, vote.rule.value)
    if council.committee is not None:  # a committee counts its own composition (art. 47)
        threshold = threshold.replace("складу ради", "складу комісії")
    if vote.rule is Rule.MAJORITY_OF_REGISTERED and figures is not None:
        who = deputies(figures["registered_deputies"]) + (" і міський голова" if figures["mayor_taking_part"] else "")
        threshold += f" (зареєстровано {who})"
    sentence = f"Рішення приймається {threshold}"
    numbers = None
    adopted = None if tally is None else tally["outcome"] == "adopted"
    if tally is not None:
        # No-break spaces keep the number, its noun and «за» on one line.
        required = int(tally["required"])
        sentence += f"; потрібно {required}\u00a0{plural(required, 'голос', 'голоси', 'голосів')}\u00a0«за»"
        numbers = (
            f"За — {tally['for']}, проти — {tally['against']}, утрималися — {tally['abstain']}, "
            f"не голосували — {tally['not_voted']}, відсутні — {tally['absent']}."
        )
    return VoteRecord(
        number=number,
        subject=vote.subject,
        status=vote.status,
        threshold=sentence + ".",
        composition_line=composition_line(figures) if figures is not None and tally is not None else None,
        composition=figures,
        tally=tally,
        numbers=numbers,
        adopted=adopted,
        outcome=None if adopted is None else _outcome(vote, adopted),
        roll_call=_roll_call(vote, council),
        reason=vote.reason.rstrip(". ") if vote.reason else vote.reason,
        entry=entry,
        proposal=_proposal(vote.proposal) if vote.purpose == "agenda_add" and vote.proposal else None,
        kind=_kind(vote),
    )


def agenda_add_title(proposal: Mapping[str, Any]) -> str:
    """What residents read as the title of a vote on including ``proposal`` in an open sitting's agenda:
    «Про включення до порядку денного питання „Про перейменування вулиці Садової“» (the open data's
    ``title``, Popolo's ``text``). The item is quoted with the inner quotes, as the console words the
    vote's subject: the title is mostly read inside «…» (a page's «Голосування «…»»). It is made from the
    proposal, never from an agenda item: the item it would become may never exist."""
    return f"Про включення до порядку денного питання „{proposal.get('title', '')}“"


def _proposal(proposal: Mapping[str, Any]) -> str:
    number = str(proposal.get("number", "")).rstrip(". ")
    text = f"{number}. {proposal.get('title', '')}" if number else str(proposal.get("title", ""))
    return f"{text} (проєкт рішення {proposal['draft']})" if proposal.get("draft") else text


def _gender(council: CouncilState, member: str) -> str | None:
    deputy = council.deputies.get(member)
    return deputy.gender if deputy is not None else None


def _roll_call(vote: Vote, council: CouncilState) -> list[Group]:
    """The roll call by faction in the council's order, then deputies without one, then the mayor apart.

    Within a group members keep the roster's order; each line agrees with the member's recorded gender.
    """
    if vote.roll_call is None or vote.status != "closed":
        return []
    roll_call = vote.roll_call

    def lines(members: Sequence[str]) -> list[tuple[str, str]]:
        return [(_name(council, m), roll_call_line(roll_call[m].value, _gender(council, m))) for m in members]

    grouped = council.by_faction(roll_call)
    groups = [Group(faction, lines(ids)) for faction, ids in grouped if faction is not None]
    # members no longer on the roster keep their line, among those of no faction
    unaffiliated = dict(grouped).get(None, []) + [m for m in roll_call if m not in council.deputies]
    if unaffiliated:
        groups.append(Group(UNAFFILIATED, lines(unaffiliated)))
    if council.mayor is not None and council.mayor in roll_call:
        groups.append(Group(MAYOR, lines([council.mayor])))
    return groups


def genitive_committee(name: str) -> str:
    """«Постійна комісія з питань …» → «постійної комісії з питань …» (what the protocol is of)."""
    return name.replace("Постійна комісія", "постійної комісії", 1)
