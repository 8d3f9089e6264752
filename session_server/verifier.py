"""``kvorum verify`` and ``kvorum ledger …``: fetch or read a session's ledger, audit it, print the report.

``kvorum verify`` needs no database and no trust in the server: it reads an export file or downloads
one (``…/api/v1/sessions/<id>/ledger/export``) and checks it with ``domain.audit``. Pin the council's
published keys with ``--key`` (or ``--keys-url``) so a server cannot sign with a key of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LedgerUnreadable(f"{source}: not a JSON ledger export ({exc})") from None
    if not isinstance(data, dict):
        raise LedgerUnreadable(f"{source}: not a JSON ledger export")
    return data


def verify_on_every_core(jobs: Sequence[tuple[int, PreparedAssertion]]) -> tuple[int, str] | None:
    """Verify ballot signatures in one thread per core (ECDSA releases the GIL); the first failure by index."""
    workers = os.cpu_count() or 1
    if workers == 1 or len(jobs) < 64:
        return verify_in_order(jobs)
    size = -(-len(jobs) // workers)
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kvorum-verify") as pool:
        failures = [f for f in pool.map(verify_in_order, chunks) if f is not None]
    return min(failures) if failures else None


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
        report = audit(export, trusted_keys=keys or None, check_signatures=verify_on_every_core)
    except Discrepancy as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return EXIT_DISCREPANCY
    print(format_report(report))
    return 0
