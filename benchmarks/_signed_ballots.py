"""The signed mode of ``benchmarks.ballots``: every deputy with a soft authenticator, WebAuthn ballots.

Seeding enrolls one credential per deputy in the council stream (``credential.enroll``, as the
enrollment endpoint would after the registration ceremony). The run then switches the council to
signed ballots (``council.configure`` as the administrator), closes the unsigned vote and opens a
new one, and every ballot from then on carries the deputy's nonce for that vote and an ES256
assertion with user verification. Bursts are signed before they are sent (the fingerprint comes
before the tap reaches the server); in the closed loop each ballot is signed when it is sent, by the
client process, which shares the machine with the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks._authenticator import Tablet
from voting.ballot import ballot_bytes, nonce_for

ORIGIN = "http://localhost:8000"
RP_ID = "localhost"


@dataclass(slots=True)
class Signer:
    """A deputy's tablet and where the deputy stands in the current vote's nonces."""

    tablet: Tablet
    council: str
    session: str
    vote: str = ""
    item: str = ""
    seed: str = ""
    index: int = 0

    def start(self, vote: str, item: str, seed: str) -> None:
        """A new vote: its nonce seed, and the first nonce next."""
        self.vote, self.item, self.seed, self.index = vote, item, seed, 0

    def sign(self, member: str, choice: str) -> dict[str, Any]:
        """The ``nonce`` and ``assertion`` fields of the deputy's next ballot (assumes it will be accepted)."""
        nonce = nonce_for(self.seed, member, self.index)
        self.index += 1
        ballot = ballot_bytes(
            council=self.council,
            session=self.session,
            vote=self.vote,
            item=self.item,
            deputy=member,
            choice=choice,
            nonce=nonce,
        )
        return {"nonce": nonce, "assertion": self.tablet.sign(ballot)}


async def enroll(kvorum: Any, council: str, session: str, members: Sequence[str]) -> tuple[dict[str, Signer], float]:
    """Enroll a fresh soft authenticator for each member; ``(signers, seconds it took)``."""
    from session_server.application import SYSTEM, council_stream
    from session_server.domain.commands import CredentialEnroll

    began = time.perf_counter()
    signers: dict[str, Signer] = {}
    commands = []
    for member in members:
        tablet = Tablet(ORIGIN)
        credential, public_key = tablet.create_directly(RP_ID, member.encode())
        signers[member] = Signer(tablet, council, session)
        commands.append(
            CredentialEnroll(
                id=f"enroll-{member}",
                type="credential.enroll",
                deputy=member,
                credential=credential,
                public_key=public_key,
            )
        )
    stream = council_stream(council)
    await asyncio.gather(*(kvorum.application.execute(stream, c, SYSTEM) for c in commands))
    return signers, time.perf_counter() - began
