"""Sign-ins: each one and each failure recorded, and guessing slowed down per account and per address.

Failures make the next attempt wait, and the wait grows: an account may fail ``ACCOUNT_FREE`` times in
a row, then each further try waits 1, 2, 4 … seconds after the last failure, at most ``MAX_WAIT``
(5 minutes: a deputy who forgot the password is not locked out of a sitting for long, and the
secretary can lift the wait at once: ``unlock``). One address may fail ``ADDRESS_FREE`` times in
``WINDOW`` before the same applies to every account tried from it (a chamber's tablets share one
address, so it is generous). A refused attempt does not check the password at all, so the right
password during a wait is refused too, and a guesser gets nothing for trying. Failures count from
the account's last sign-in or unlock, within ``WINDOW``.

Attempts refused by the wait are not recorded (a guesser would fill the table); they are logged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

ACCOUNT_FREE = 5
ADDRESS_FREE = 30
WINDOW = timedelta(minutes=15)
MAX_WAIT = 300.0

_FAILURES = """
    WITH reset AS (
        SELECT coalesce(max(at), '-infinity') AS at FROM sign_ins
        WHERE username = $1 AND outcome IN ('ok', 'unlocked'))
    SELECT
        (SELECT count(*) FROM sign_ins, reset WHERE username = $1 AND outcome = 'wrong_password'
            AND sign_ins.at > greatest(reset.at, now() - $3::interval)) AS account_failures,
        (SELECT max(sign_ins.at) FROM sign_ins, reset WHERE username = $1 AND outcome = 'wrong_password'
            AND sign_ins.at > reset.at) AS account_last,
        (SELECT count(*) FROM sign_ins WHERE address = $2 AND outcome = 'wrong_password'
            AND at > now() - $3::interval) AS address_failures,
        (SELECT max(at) FROM sign_ins WHERE address = $2 AND outcome = 'wrong_password') AS address_last,
        now() AS now"""


def wait_after(failures: int, free: int) -> float:
    """Seconds to wait after the last failure, with ``failures`` of which ``free`` cost nothing."""
    if failures < free:
        return 0.0
    return min(MAX_WAIT, 2.0 ** (failures - free))


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who tries to sign in, from where."""

    username: str
    address: str
    user_agent: str


class SignIns:
    """The ``sign_ins`` table: records, the throttle, and the administrator's view."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def wait(self, attempt: Attempt) -> int:
        """Whole seconds ``attempt`` must wait before its password is even checked (0: go ahead)."""
        row = await self.pool.fetchrow(_FAILURES, attempt.username, attempt.address, WINDOW)
        now = row["now"]
        waits = [0.0]
        for failures, last, free in (
            (row["account_failures"], row["account_last"], ACCOUNT_FREE),
            (row["address_failures"], row["address_last"], ADDRESS_FREE),
        ):
            if last is not None:
                waits.append(wait_after(int(failures), free) - (now - last).total_seconds())
        seconds = math.ceil(max(waits))
        if seconds > 0:
            log.warning(
                "sign-in of %r from %s refused for %d s after failures", attempt.username, attempt.address, seconds
            )
        return seconds

    async def record(self, attempt: Attempt, outcome: str, user_id: int | None = None) -> None:
        """Record a sign-in or a failure: ``ok``, ``wrong_password`` or ``disabled``."""
        await self.pool.execute(
            """INSERT INTO sign_ins (username, user_id, address, user_agent, outcome) VALUES ($1, $2, $3, $4, $5)""",
            attempt.username[:100],
            user_id,
            attempt.address[:100],
            attempt.user_agent[:300],
            outcome,
        )

    async def unlock(self, username: str, *, by: str) -> None:
        """Let ``username`` try again at once (the failures before this no longer count)."""
        await self.record(Attempt(username, f"unlocked by {by}", ""), "unlocked")

    async def recent(self, *, username: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The latest records, newest first (of one username if given)."""
        rows = await self.pool.fetch(
            """SELECT at, username, user_id, address, user_agent, outcome FROM sign_ins
               WHERE $1::text IS NULL OR username = $1 ORDER BY at DESC, id DESC LIMIT $2""",
            username,
            limit,
        )
        return [{**dict(r), "at": r["at"].isoformat()} for r in rows]
