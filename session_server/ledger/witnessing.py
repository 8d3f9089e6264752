"""Cosignatures of the council's checkpoints by the witnesses its settings list (docs/witness.md).

After every checkpoint the ledger signs, and on a sweep every ``KVORUM_WITNESS_RETRY_SECONDS``, each
listed witness is sent, by C2SP tlog-witness ``add-checkpoint``, every checkpoint of that ledger newer
than the latest it holds, oldest first, with the consistency proof from that one (a witness that never
saw a ledger gets only its latest checkpoint, from size 0). The size a witness holds is learned from its
answers, a 409 included. A cosignature is stored only once it verifies with the witness's key on that
checkpoint; the ledger then serves the checkpoint with the line appended.

The witnesses are asked at once and independently, each in a task of its own per ledger: one that is
down, slow or refusing delays no other (each answer is stored as it comes) and is retried with a
growing pause (up to six sweeps). Nodes ask independently too: when two send a witness the same
checkpoint, its 409 tells the second the size it holds, the second is answered with a cosignature of the
same checkpoint, and the first one stored is kept. What each witness last answered is kept for the
admin view (``witness_health``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import httpx

from session_server.application import Application
from session_server.domain.council import Witness
from session_server.ledger.trees import Ledger
from session_server.ops.metrics import METRICS
from voting.checkpoint import CheckpointError
from voting.cosignature import CosignatureVerifier, cosignatures
from voting.witness import SIZE_TYPE

__all__ = ["TIMEOUT", "Witnessing", "cosigned_by"]

log = logging.getLogger(__name__)

TIMEOUT = 5.0
"""Seconds a witness has to answer one request, whole."""
MAX_ANSWER = 16 * 1024
"""Bytes of a witness's answer read at most: a few cosignature lines, or a size."""


@dataclass(frozen=True, slots=True)
class _Due:
    size: int
    note: str


class _Refusal(Exception):
    """A witness's answer that ends this round for it: said in the admin view."""


def cosigned_by(note: str, witnesses: Sequence[Witness]) -> list[str]:
    """The names of the listed witnesses whose cosignature on ``note`` verifies."""
    verifiers = []
    for witness in witnesses:
        with contextlib.suppress(CheckpointError):
            verifiers.append(CosignatureVerifier.from_vkey(witness.key))
    try:
        return sorted(c.witness for c in cosignatures(note, verifiers))
    except CheckpointError:
        return []


class Witnessing:
    """Asks the council's witnesses to cosign its checkpoints, and keeps their cosignatures."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        ledger: Ledger,
        application: Application,
        *,
        retry: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.pool = pool
        self.ledger = ledger
        self.application = application
        self.retry = retry
        self._client = httpx.AsyncClient(timeout=TIMEOUT, transport=transport, follow_redirects=False)
        self._due: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pause: dict[str, tuple[float, float]] = {}  # witness key -> (until, length) after a failure
        self._asking: dict[tuple[str, str], asyncio.Task[None]] = {}  # (witness key, stream) being asked

    def on_signed(self, stream: str) -> None:
        """Ledger listener: a checkpoint of ``stream`` was signed; ask the witnesses now."""
        self._due.add(stream)
        self._wake.set()

    async def start(self) -> None:
        """Start asking in the background."""
        self._task = asyncio.create_task(self._run(), name="witness cosignatures")

    async def close(self) -> None:
        """Stop asking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        asking = list(self._asking.values())
        for task in asking:
            task.cancel()
        await asyncio.gather(*asking, return_exceptions=True)
        await self._client.aclose()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_sweep):
                    await self._wake.wait()
            self._wake.clear()
            streams, self._due = self._due, set()
            sweep = loop.time() >= next_sweep
            try:
                if sweep:
                    next_sweep = loop.time() + self.retry
                    streams |= set(await self._pending())
                for stream in sorted(streams):
                    await self.collect(stream)
            except Exception:
                log.exception("asking the witnesses failed; retrying at the next sweep")

    async def settle(self, stream: str, size: int, seconds: float = 2.0) -> None:
        """Wait (at most ``seconds``) until a checkpoint of ``size`` signed moments ago has the cosignatures the
        council needs, asking the witnesses meanwhile: for a file made just after it was signed (an export).
        An older checkpoint had its chance: a file of it is made at once, with what it has."""
        council_id = await self.application.council_id()
        if council_id is None:
            return
        council = await self.application.council(council_id)
        fresh = await self.pool.fetchval(
            "SELECT created_at > now() - make_interval(secs => $3) FROM checkpoints WHERE stream = $1 AND size = $2",
            stream,
            size,
            TIMEOUT,
        )
        if not fresh:
            return
        keys = [w.key for w in council.witnesses]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while council.witnesses_needed and loop.time() < deadline:
            have = await self.pool.fetchval(
                "SELECT count(*) FROM cosignatures WHERE stream = $1 AND size = $2 AND witness = ANY($3::text[])",
                stream,
                size,
                keys,
            )
            if have >= council.witnesses_needed:
                return
            await self.collect(stream)  # a witness already being asked is left to its task
            await asyncio.sleep(0.02)

    async def _witnesses(self) -> tuple[Witness, ...]:
        council_id = await self.application.council_id()
        if council_id is None:
            return ()
        return (await self.application.council(council_id)).witnesses

    async def _pending(self) -> list[str]:
        """The ledgers with a checkpoint newer than a listed witness holds."""
        keys = [w.key for w in await self._witnesses()]
        if not keys:
            return []
        rows = await self.pool.fetch(
            """SELECT c.stream FROM (SELECT stream, max(size) AS size FROM checkpoints GROUP BY stream) c
               WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS w(key)
                             LEFT JOIN witness_logs l ON l.witness = w.key AND l.stream = c.stream
                             WHERE coalesce(l.size, -1) < c.size)""",
            keys,
        )
        return [r["stream"] for r in rows]

    async def collect(self, stream: str) -> None:
        """Ask every listed witness, each in a task of its own, to cosign the checkpoints of ``stream`` it has
        not. A witness already being asked about this ledger goes on to the newer ones by itself; one in its
        pause after a failure is asked again by the first sweep after the pause."""
        now = time.monotonic()
        for witness in await self._witnesses():
            key = (witness.key, stream)
            if self._pause.get(witness.key, (0.0, 0.0))[0] > now or key in self._asking:
                continue
            task = asyncio.create_task(self._ask(witness, stream), name=f"witness {witness.name} {stream}")
            self._asking[key] = task
            task.add_done_callback(functools.partial(self._asked, key))

    def _asked(self, key: tuple[str, str], _: asyncio.Task[None]) -> None:
        self._asking.pop(key, None)

    async def _ask(self, witness: Witness, stream: str) -> None:
        """Send ``witness`` each checkpoint newer than the one it holds, oldest first, until none is left."""
        asked = False
        try:
            verifier = CosignatureVerifier.from_vkey(witness.key)
            while True:
                held = await self.pool.fetchval(
                    "SELECT size FROM witness_logs WHERE witness = $1 AND stream = $2", witness.key, stream
                )
                rows = await self.pool.fetch(
                    "SELECT size, note FROM checkpoints WHERE stream = $1 AND size > $2 ORDER BY size",
                    stream,
                    -1 if held is None else held,
                )
                due = [_Due(int(r["size"]), str(r["note"])) for r in rows]
                if held is None:
                    due = due[-1:]  # a witness new to this ledger starts from its latest checkpoint
                if not due:
                    break
                for checkpoint in due:
                    if held is not None and held >= checkpoint.size:
                        continue  # it has moved past this one (another node asked it meanwhile)
                    held = await self._add_checkpoint(witness, verifier, stream, checkpoint, held or 0)
                    asked = True
        except _Refusal as refusal:
            await self._failed(witness, str(refusal))
            return
        except httpx.HTTPError as exc:
            await self._failed(witness, f"no answer: {type(exc).__name__} {exc}".strip())
            return
        except (CheckpointError, asyncpg.PostgresError, OSError) as exc:
            log.exception("asking witness %s about %s failed", witness.name, stream)
            await self._failed(witness, f"not asked: {exc}")
            return
        if asked:
            self._pause.pop(witness.key, None)
            await self.pool.execute(
                """INSERT INTO witness_health (witness, answered_at) VALUES ($1, now())
                   ON CONFLICT (witness) DO UPDATE SET answered_at = now()""",
                witness.key,
            )

    async def _add_checkpoint(
        self, witness: Witness, verifier: CosignatureVerifier, stream: str, checkpoint: _Due, old: int
    ) -> int:
        """One add-checkpoint (again once if the witness holds another size); the size it holds after."""
        for _ in range(2):
            proof = await self.ledger.consistency(stream, old, checkpoint.size) if 0 < old < checkpoint.size else []
            body = "".join([f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"])
            status, content_type, text = await self._post(witness.url.rstrip("/") + "/add-checkpoint", body, checkpoint)
            if status == 409 and content_type.startswith(SIZE_TYPE):
                holds = _size(text)
                if holds is None or holds > len(await self.ledger.tree(stream)):
                    raise _Refusal(f"holds size {text.strip()[:40]} of {stream}, beyond this ledger: a fork?")
                await self._holds(witness, stream, holds)
                if holds == checkpoint.size and old == holds:
                    raise _Refusal(f"holds another tree of size {holds} of {stream}: a fork?")
                if holds > checkpoint.size:
                    return holds  # it has a later checkpoint already
                old = holds
                continue
            if status != 200:
                raise _Refusal(
                    f"refused the checkpoint of size {checkpoint.size} of {stream}: HTTP {status} {text.strip()[:200]}"
                )
            line = _own_line(checkpoint.note, text, verifier)
            await self.pool.execute(
                """INSERT INTO cosignatures (stream, size, witness, line) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (stream, size, witness) DO NOTHING""",
                stream,
                checkpoint.size,
                witness.key,
                line,
            )
            METRICS.cosignatures.labels(witness.name, "stored").inc()
            await self._holds(witness, stream, checkpoint.size)
            return checkpoint.size
        raise _Refusal(f"keeps answering another size for {stream}")

    async def _post(self, url: str, body: str, checkpoint: _Due) -> tuple[int, str, str]:
        """POST and read at most ``MAX_ANSWER`` bytes, all within ``TIMEOUT``: a witness that streams without
        end, or drips, is given up on like one that does not answer."""
        try:
            async with asyncio.timeout(TIMEOUT):
                request = self._client.stream("POST", url, content=body.encode() + checkpoint.note.encode())
                async with request as response:
                    read = b""
                    async for chunk in response.aiter_bytes():
                        read += chunk
                        if len(read) > MAX_ANSWER:
                            raise _Refusal(f"answered more than {MAX_ANSWER} bytes")
                    return (
                        response.status_code,
                        response.headers.get("content-type", ""),
                        read.decode("utf-8", "replace"),
                    )
        except TimeoutError:
            raise httpx.TimeoutException(f"no whole answer within {TIMEOUT:g} s") from None

    async def _holds(self, witness: Witness, stream: str, size: int) -> None:
        await self.pool.execute(
            """INSERT INTO witness_logs (witness, stream, size) VALUES ($1, $2, $3)
               ON CONFLICT (witness, stream) DO UPDATE SET size = excluded.size""",
            witness.key,
            stream,
            size,
        )  # what it says it holds, even less than recorded: a witness restored from an older backup

    async def _failed(self, witness: Witness, failure: str) -> None:
        _, length = self._pause.get(witness.key, (0.0, 0.0))
        length = min(max(1.0, length * 2), self.retry * 6)
        self._pause[witness.key] = (time.monotonic() + length, length)
        log.warning("witness %s: %s", witness.name, failure)
        METRICS.cosignatures.labels(witness.name, "failed").inc()
        await self.pool.execute(
            """INSERT INTO witness_health (witness, failed_at, failure) VALUES ($1, now(), $2)
               ON CONFLICT (witness) DO UPDATE SET failed_at = now(), failure = excluded.failure""",
            witness.key,
            failure,
        )


def _own_line(note: str, answer: str, verifier: CosignatureVerifier) -> str:
    """The witness's own cosignature line among the one or more lines it answered (lines of other keys are
    ignored, as tlog-witness asks); _Refusal if the answer is no signature lines or none is its own."""
    lines = answer.splitlines(keepends=True)
    if not lines or any(not line.startswith("\u2014 ") or not line.endswith("\n") for line in lines):
        raise _Refusal("answered something other than cosignature lines")
    for line in lines:
        try:
            if cosignatures(note + line, [verifier]):
                return line
        except CheckpointError as exc:
            raise _Refusal(f"answered a cosignature that does not verify: {exc.message}") from None
    raise _Refusal("answered no cosignature by its own key")


def _size(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isdigit() and len(value) <= 19 else None
