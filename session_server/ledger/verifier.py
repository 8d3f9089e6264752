"""``kvorum verify`` and ``kvorum ledger …``: fetch or read a session's ledger, audit it, print the report.

``kvorum verify`` needs no database and no trust in the server: it reads an export file or downloads
one (``…/api/v1/sessions/<id>/ledger/export``) and checks it with ``domain.audit``. Pin the council's
published keys with ``--key`` (or ``--keys-url``) so a server cannot sign with a key of its own.

An export of another format is checked by the installed extension that declares it
(``Extension.exports``): a decision's (``…/api/v1/documents/<id>/export``, ``kvorum-decision-v1``) by
``portal_bridge.decision_audit``, the mayor's signature against the council's ledger.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import multiprocessing
import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import orjson

from session_server.domain.audit import EXPORT_FORMAT, Discrepancy, ExportCheck, Report, audit
from voting.ballot import BallotRefused, PreparedAssertion, check_signature

EXIT_DISCREPANCY = 1
EXIT_UNREADABLE = 2


class LedgerUnreadable(Exception):
    """The ledger could not be read or downloaded at all (not a discrepancy in it)."""


def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        raise LedgerUnreadable(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise LedgerUnreadable(f"{url}: {getattr(exc, 'reason', exc)}") from None


def export_url(url: str) -> str:
    """The export URL for a session URL (``…/sessions/<id>``, ``…/ledger`` or the export itself), or for
    a decision's (``…/api/v1/documents/<id>``, its export, or its page ``…/decisions/<id>``)."""
    url = url.rstrip("/")
    head, _, last = url.rpartition("/")
    if head.endswith("/api/v1/documents"):
        return f"{url}/export"
    if head.endswith("/decisions"):  # the decision's page on the portal
        return f"{head.removesuffix('/decisions')}/api/v1/documents/{last}/export"
    if url.endswith("/ledger/export") or (last == "export" and head.rpartition("/")[0].endswith("/documents")):
        return url
    if url.endswith("/ledger"):
        return f"{url}/export"
    return f"{url}/ledger/export"


def load(source: str) -> Mapping[str, Any]:
    """The export from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        raw = _fetch(export_url(source))
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise LedgerUnreadable(f"{source}: {exc.strerror or exc}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise LedgerUnreadable(f"{source}: not a JSON ledger export ({exc})") from None
    if not isinstance(data, dict):
        raise LedgerUnreadable(f"{source}: not a JSON ledger export")
    return data


Job = tuple[int, bytes, bytes, bytes]
"""``(event index, COSE public key, signature, signed data)``: one signature, cheap to send."""


def verify_jobs(jobs: list[Job]) -> tuple[int, str] | None:
    """Verify in order (in a worker process or here); ``(index, message)`` of the first bad one, else None."""
    for index, public_key, signature, signed_data in jobs:
        try:
            check_signature(public_key, signature, signed_data)
        except BallotRefused as exc:
            return index, f"{exc.code}: {exc.message}"
    return None


def _start_method() -> BaseContext:
    # fork costs nothing and the workers start with the keys already decoded; it is safe only while
    # this process runs no other thread (the CLI). Otherwise (tests, an embedding server) spawn.
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class OtherProcesses:
    """A ``SignatureSink`` that verifies ballot signatures in worker processes while the audit goes on.

    Signatures are the bulk of a session's audit (ECDSA P-256, ~75 µs each on a 2-core machine), so
    they are sent off in chunks as they are prepared, to ``workers`` processes (by default one per
    core but the one this audit runs on). When the audit is done, this process takes back the
    chunks no worker has started and verifies them too, so every core works to the end.
    """

    CHUNK = 512

    def __init__(self, workers: int | None = None) -> None:
        self.workers = (os.cpu_count() or 1) - 1 if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._buffer: list[Job] = []
        self._sent: list[tuple[Future[tuple[int, str] | None], list[Job]]] = []

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        self._buffer.append((index, prepared.public_key, prepared.signature, prepared.signed_data))
        if len(self._buffer) >= self.CHUNK and self.workers > 0:
            self._send()

    def _send(self) -> None:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_start_method())
        self._sent.append((self._pool.submit(verify_jobs, self._buffer), self._buffer))
        self._buffer = []

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        try:
            # Take back, last first, what no worker has begun; verify it here while they finish theirs.
            here = [self._buffer]
            running = []
            for future, jobs in reversed(self._sent):
                if future.cancel():
                    here.append(jobs)
                else:
                    running.append(future)
            failures = [verify_jobs([job for job in jobs if before is None or job[0] < before]) for jobs in here]
            failures += [future.result() for future in running]
        finally:
            self.discard()
        found = [f for f in failures if f is not None and (before is None or f[0] < before)]
        return min(found) if found else None

    def discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self._sent, self._buffer = [], []


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The audit makes millions of objects and no cycles: the collector would only scan them again
    and again (a tenth of the run, more in a process that already holds many objects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def format_report(report: Report) -> str:
    """The short human report printed on success."""
    lines = [
        f"OK  {report.council} / {report.session}: {report.events} events, {report.council_events} council events",
        f"    hash chains, Merkle roots and {report.checkpoints} signed checkpoints verified",
        f"    {report.ballots} ballots checked by the rules, {report.signed_ballots} WebAuthn signatures verified",
    ]
    if report.sealed_ballots:
        lines.append(f"    {report.sealed_ballots} sealed ballots opened at their close, each matching its commitment")
    if report.secret_ballots:
        lines.append(
            f"    {report.secret_ballots} secret ballots, each proved one of the options under the commission's key;"
            f" {report.decryptions} partial decryptions proved, the counts recomputed from them"
        )
    if report.unopened:
        lines.append(
            f"    {report.unopened} sealed ballots of a vote still open: who voted is recorded, the choices are"
            " opened at the close"
        )
    for vote in report.votes:
        t = vote.tally
        lines.append(
            f"    {vote.id} «{vote.subject}»: for {t['for']}, against {t['against']}, abstain {t['abstain']}, "
            f"not voted {t['not_voted']}, absent {t['absent']}; needed {t['required']} → {t['outcome']} (recounted)"
        )
    lines += [f"    signed by key {key}" for key in report.keys]
    lines += [f"    agrees with the published checkpoint of {size} events" for size in report.published]
    if not report.keys_pinned:
        lines.append(
            "    WARNING: no trusted key given (--key or --keys-url): the checkpoints were checked with the keys"
            " the file names itself, so a file rewritten and signed anew with another key verifies as well;"
            " compare the keys above with those the council publishes"
        )
    if report.unsigned_ballots:
        what = "a demo council: " if report.unsigned_demo else ""
        lines.append(
            f"    WARNING: {what}{report.unsigned_ballots} of {report.ballots} ballots are not signed on the"
            " deputies' devices: only the server vouches for them"
        )
    if not report.closed:
        lines.append("    NOTE: the sitting is not closed: events may follow what this ledger holds")
    for ledger, names in report.witnessed.items():
        lines.append(
            f"    the {ledger} ledger's last checkpoint is cosigned by {len(names)} witnesses"
            f" ({', '.join(names) or 'none'}; {report.witnesses_needed} needed)"
        )
    for seq, deputy, vote_id in report.receipts:
        lines.append(f"    receipt: the ballot of {deputy} in vote {vote_id}, event {seq}, is in the ledger as kept")
    if report.witnessed:
        lines.append(
            "    Proven: these events, in this order, under the checkpoints above, recounted by the rules; and the"
            " witnesses named cosigned only histories that extend each other, so this is the one history they saw."
        )
    else:
        lines.append(
            "    Proven: these events, in this order, under the checkpoints above, recounted by the rules. Not"
            " proven: that the council showed no one a different history (give the witnesses' keys: --witness)."
        )
    return "\n".join(lines)


def _note(source: str) -> str:
    """A signed note from a file or a URL."""
    if source.startswith(("http://", "https://")):
        return _fetch(source).decode("utf-8", "replace")
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerUnreadable(f"{source}: {getattr(exc, 'strerror', None) or exc}") from None


def _published(args: argparse.Namespace) -> list[str]:
    """The checkpoints the auditor brings: ``--checkpoint``, and for a session's URL the one its server
    publishes now, read before the export (which can only have grown since)."""
    notes = [_note(source) for source in args.checkpoint or []]
    source = str(args.source)
    if source.startswith(("http://", "https://")):
        url = export_url(source)
        if url.endswith("/ledger/export"):
            notes.append(_note(url.removesuffix("/export") + "/checkpoint"))
    return notes


def cmd_verify(args: argparse.Namespace, checks: Callable[[], Mapping[str, ExportCheck]] = dict) -> int:
    """Verify a ledger; print the report (exit 0) or the first discrepancy (exit 1). An export of another
    format is checked by what ``checks()`` gives for it (the installed extensions' ``exports``)."""
    keys: list[str] = list(args.key or [])
    try:
        if args.keys_url:
            keys += [line.strip() for line in _fetch(args.keys_url).decode().splitlines() if line.strip()]
        published = _published(args)  # before the export: it may only have grown since
        export = load(args.source)
    except LedgerUnreadable as exc:
        print(f"kvorum verify: cannot read the ledger: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    witnesses: list[str] = list(getattr(args, "witness", None) or [])
    needed = getattr(args, "witnesses_needed", None)
    if needed is not None and needed > len(witnesses):
        print(f"kvorum verify: {needed} witnesses needed but {len(witnesses)} --witness keys given", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        receipts = [(source, load(source)) for source in getattr(args, "receipt", None) or []]
    except LedgerUnreadable as exc:
        print(f"kvorum verify: cannot read the receipt: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    format_ = export.get("format")
    if format_ != EXPORT_FORMAT and (check := checks().get(str(format_))) is not None:
        try:
            print(check(export, keys or None))
        except Discrepancy as exc:
            print(f"FAIL {exc}", file=sys.stderr)
            return EXIT_DISCREPANCY
        return 0
    try:
        with _no_cycle_collection():
            report = audit(
                export,
                trusted_keys=keys or None,
                signatures=OtherProcesses(),
                published=published,
                witnesses=witnesses,
                witnesses_needed=len(witnesses) if needed is None else needed,
                receipts=receipts,
            )
    except Discrepancy as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return EXIT_DISCREPANCY
    print(format_report(report))
    return 0
