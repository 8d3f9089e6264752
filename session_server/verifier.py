"""``kvorum verify`` and ``kvorum ledger …``: fetch or read a session's ledger, audit it, print the report.

``kvorum verify`` needs no database and no trust in the server: it reads an export file or downloads
one (``…/api/v1/sessions/<id>/ledger/export``) and checks it with ``domain.audit``. Pin the council's
published keys with ``--key`` (or ``--keys-url``) so a server cannot sign with a key of its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from session_server.domain.audit import Discrepancy, Report, audit, verify_in_order
from voting.ballot import PreparedAssertion

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
    """The export URL for a session URL (``…/sessions/<id>``, ``…/ledger`` or the export itself)."""
    url = url.rstrip("/")
    if url.endswith("/ledger/export"):
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


class OtherProcesses:
    """A ``SignatureSink`` that verifies ballot signatures in worker processes while the audit goes on.

    Signatures are the bulk of a session's audit (ECDSA P-256, ~64 µs each on a 2-core machine), so
    they are sent off in chunks as they are prepared; the rules, chain and tree checks keep running
    here. Small ledgers are verified in this process (starting workers would cost more).
    """

    CHUNK = 2048

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._buffer: list[tuple[int, PreparedAssertion]] = []
        self._pending: list[Future[tuple[int, str] | None]] = []

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        self._buffer.append((index, prepared))
        if len(self._buffer) >= self.CHUNK and self.workers > 1:
            self._send()

    def _send(self) -> None:
        if self._pool is None:
            # spawn: safe whatever threads this process runs, and the workers import only what they need
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        self._pending.append(self._pool.submit(verify_in_order, self._buffer))
        self._buffer = []

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        try:
            failures = [f.result() for f in self._pending]
            failures.append(verify_in_order(self._buffer))
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
            self._pending, self._buffer = [], []
        found = [f for f in failures if f is not None and (before is None or f[0] < before)]
        return min(found) if found else None


def format_report(report: Report) -> str:
    """The short human report printed on success."""
    lines = [
        f"OK  {report.council} / {report.session}: {report.events} events, {report.council_events} council events",
        f"    hash chains, Merkle roots and {report.checkpoints} signed checkpoints verified",
        f"    {report.ballots} ballots checked by the rules, {report.signed_ballots} WebAuthn signatures verified",
    ]
    for vote in report.votes:
        t = vote.tally
        lines.append(
            f"    {vote.id} «{vote.subject}»: for {t['for']}, against {t['against']}, abstain {t['abstain']}, "
            f"not voted {t['not_voted']}, absent {t['absent']}; needed {t['required']} → {t['outcome']} (recounted)"
        )
    lines += [f"    signed by key {key}" for key in report.keys]
    if report.unsigned_demo:
        lines.append("    WARNING: a demo council: ballots are not signed on the deputies' devices")
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a ledger; print the report (exit 0) or the first discrepancy (exit 1)."""
    keys: list[str] = list(args.key or [])
    try:
        if args.keys_url:
            keys += [line.strip() for line in _fetch(args.keys_url).decode().splitlines() if line.strip()]
        export = load(args.source)
    except LedgerUnreadable as exc:
        print(f"kvorum verify: cannot read the ledger: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        report = audit(export, trusted_keys=keys or None, signatures=OtherProcesses())
    except Discrepancy as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return EXIT_DISCREPANCY
    print(format_report(report))
    return 0
