"""The plenary sitting as a registered kind of record: ``session:<id>`` streams.

Its commands are decided against the council (the deputies, their devices, the rules); its read
model is the ``sessions`` row (status, head, the open vote and when it closes), written in the same
round trip as the events. A signed ballot's signature is checked before the ballot joins a batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from session_server.application.aggregates import Kind, Reader
from session_server.application.service import council_stream
from session_server.domain.commands import BallotCast, VoteOpen
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, NewEvent
from session_server.domain.roles import Actor, AssertionCheck, Context
from session_server.domain.session import SessionState, decide, evolve
from session_server.domain.session_events import BallotSealed
from session_server.store.database import Statement
from session_server.store.events import HOT_STATEMENTS as APPEND_STATEMENTS
from session_server.store.events import NOTHING_APPENDED, Appending, StoredEvent, flush_with
from session_server.store.sittings import sealed_openings
from voting.amendments import Amendment
from voting.ballot import Assertion, BallotRefused, Credential, ballot_bytes, verify_assertion

__all__ = ["HOT_STATEMENTS", "Sitting"]

APPEND_WITH_SESSION_ROW = flush_with(
    """INSERT INTO sessions (id, council, number, convocation, date, title, status, seq, open_vote, vote_closes_at,
                             committee)
       VALUES ($14, $15, $16, $17, $18::text::date, $19, $20, $21, $22, $23::text::timestamptz, $26)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, seq = EXCLUDED.seq, open_vote = EXCLUDED.open_vote,
           vote_closes_at = EXCLUDED.vote_closes_at""",
    """INSERT INTO sealed_ballots (stream, seq, opening)
       SELECT $1, * FROM unnest($24::bigint[], $25::text[])""",
)
"""An append that also writes the read model's row of its session and the openings of the sealed ballots it
appends (kept apart from the log until their vote closes), in the same round trip."""

HOT_STATEMENTS: list[Statement] = [
    *APPEND_STATEMENTS,
    (APPEND_WITH_SESSION_ROW, (*NOTHING_APPENDED, "", "", 0, 0, "2000-01-01", "", "", 0, None, None, [], [], None)),
]
"""What a command runs in the database, with arguments that change nothing once rolled back
(see ``session_server.store.database.warm``)."""


@dataclass(frozen=True, slots=True)
class SittingFacts:
    """What a sitting's commands are decided against besides its own state: its council, the kept
    openings of the open vote's sealed ballots this process does not hold, and the amendments of the
    current item's draft (each read only when needed: the openings for a close, the amendments for a vote
    that names them)."""

    council: CouncilState
    openings: dict[int, Any]
    amendments: Mapping[str, Amendment] | None = None


@dataclass(frozen=True, slots=True)
class _Verified:
    """A ballot signature checked before its batch: what was checked and the answer."""

    ballot: bytes
    assertion: Assertion
    credential: Credential
    rp_id: str
    origins: tuple[str, ...]
    sign_count: int

    def check(
        self, ballot: bytes, assertion: Assertion, credential: Credential, rp_id: str, origins: Sequence[str]
    ) -> int:
        """The earlier answer if ``decide`` asks exactly the same question, else the check itself."""
        if (ballot, assertion, credential, rp_id, tuple(origins)) == (
            self.ballot,
            self.assertion,
            self.credential,
            self.rp_id,
            self.origins,
        ):
            return self.sign_count
        return verify_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)


async def _amendments(
    reader: Reader, state: SessionState | None, conn: Any, commands: Sequence[Any]
) -> Mapping[str, Amendment] | None:
    """The amendments of the current item's draft, for a batch that opens a vote naming them (an amendment
    vote, a conclusion proposing them); else None."""
    if state is None or state.current_item is None or reader.drafts is None:
        return None
    if not any(isinstance(c, VoteOpen) and c.amendments is not None for c in commands):
        return None
    draft = state.agenda[state.current_item].draft
    return None if not draft else await reader.drafts.amendments(draft, conn)


class Sitting(Kind):
    """A plenary sitting: decided by ``session_server.domain.session`` against its council."""

    kind = "session"
    creating = frozenset({"session.schedule"})

    def clone(self, state: SessionState) -> SessionState:
        return state.clone()

    def evolve(self, state: SessionState | None, event: StoredEvent) -> SessionState:
        return evolve(state, event)

    async def facts(
        self, reader: Reader, state: SessionState | None, conn: Any, commands: Sequence[Any]
    ) -> SittingFacts:
        council_id = state.council if state is not None else await reader.council_id()
        if council_id is None:
            raise DomainError("council_not_found", "create the council first (kvorum demo)")
        council: CouncilState = await reader.current(council_stream(council_id), conn=conn)
        vote = state.open_vote if state is not None else None
        openings: dict[int, Any] = {}
        if vote is not None and vote.sealed_ballots.missing:
            # Sealed ballots decided on another node, or before this process read the sitting: their openings
            # are read once and kept with them (an opening of a committed ballot never changes).
            assert state is not None
            missing = [b.seq for b in vote.sealed_ballots if b.opening is None]
            openings = await sealed_openings(conn, state.id, missing)
            vote.sealed_ballots.fill(openings)
        return SittingFacts(council, openings, await _amendments(reader, state, conn, commands))

    def decide(
        self, state: SessionState | None, command: Any, ctx: Context, facts: SittingFacts
    ) -> Sequence[Event | NewEvent]:
        return decide(state, facts.council, command, ctx, facts.openings, facts.amendments)

    async def record(self, tx: Appending, state: SessionState) -> None:
        vote = state.open_vote
        if vote is not None and vote.tallying:
            vote = None  # a secret vote being counted has no deadline left: it waits for the commission
        sealed = [
            (event.seq, orjson.dumps(event.data.opening).decode())
            for event in tx.pending
            if isinstance(event.data, BallotSealed) and event.data.opening is not None
        ]
        tx.also(
            APPEND_WITH_SESSION_ROW,
            state.id,
            state.council,
            state.number,
            state.convocation,
            state.date,
            state.title,
            state.status,
            state.seq,
            vote.id if vote else None,
            vote.closes_at if vote else None,
            [seq for seq, _ in sealed],
            [opening for _, opening in sealed],
            state.committee,
        )

    def prepare(self, reader: Reader, stream: str, command: Any, actor: Actor) -> AssertionCheck | None:
        """Check a ballot's signature against the state as cached now, before it joins a batch.

        The signature check is the costly part of a signed ballot. Done here, it overlaps the commit
        of the batch in flight instead of lengthening the next one; ``decide`` still makes every check
        in order and uses this answer only if it asks exactly the same question. None when it cannot
        tell yet. (Not in worker threads: ECDSA releases the GIL, but each thread then waits up to the
        5 ms switch interval to take it back from the busy event loop — measured slower.)
        """
        if not isinstance(command, BallotCast) or command.assertion is None or command.nonce is None:
            return None
        if command.choice is None:
            return None  # a secret ballot: its signature is checked with its proofs, in decide
        state: SessionState | None = reader.cached(stream)
        if state is None or actor.member is None:
            return None
        council: CouncilState | None = reader.cached(council_stream(state.council))
        vote = state.votes.get(command.vote)
        if council is None or vote is None:
            return None
        try:
            assertion = Assertion.from_json(command.assertion)
        except BallotRefused:
            return None
        credential = council.credentials.get(assertion.credential)
        if credential is None:
            return None
        ballot = ballot_bytes(
            council=council.id,
            session=state.id,
            vote=vote.id,
            item=vote.item,
            deputy=actor.member,
            choice=command.choice.value,
            nonce=command.nonce,
        )  # a ballot with a choice in a secret vote is refused in decide, before its signature counts
        try:
            sign_count = verify_assertion(ballot, assertion, credential, rp_id=council.rp_id, origins=council.origins)
        except BallotRefused:
            return None  # decide refuses it with the right code, in the right order
        return _Verified(ballot, assertion, credential, council.rp_id, council.origins, sign_count).check
