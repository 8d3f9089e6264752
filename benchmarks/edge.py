"""What the checks at the edge cost per request, against the same work without them, in one run.

The checks (issue 15): every command's text and numbers go through ``domain.text.Strict``'s one
validator (skipped for a body that cannot hold anything it refuses, ``text.clean_json``), and every
request through ``edge.CleanAddresses`` (its address decoded strictly, ``nosniff`` added to its
answer). Measured here for a signed ballot (the hot path), each against its baseline in the same
run: the same model without the validator (rebuilt with pydantic's ``create_model``), and the bare
ASGI app. The extra time per ballot is then set against a ballot's whole cost on the server
(``--per-ballot-us``: one core divided by ``benchmarks.ballots``' sustained acks/s; 2,300 acks/s ≈
435 µs), since end-to-end figures on this 2-core machine vary by ±40 % from run to run and would
hide a few microseconds.

    python -m benchmarks.edge [--per-ballot-us 435]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from session_server.domain.commands import BallotCast
from session_server.http.edge import CleanAddresses
from session_server.http.responses import parse

ROUNDS = 50_000


def _b64(size: int) -> str:
    return base64.urlsafe_b64encode(bytes(range(size % 256)) * (size // 256 + 1))[:size].decode()


BODY = json.dumps(
    {
        "id": "b-d017-v3",
        "type": "ballot.cast",
        "vote": "v3",
        "choice": "for",
        "nonce": "Kp3q0Yc8mB1xZ2vN",
        "assertion": {
            "credential": _b64(43),
            "authenticator_data": _b64(49),
            "client_data_json": _b64(180),
            "signature": _b64(96),
        },
    }
).encode()


def _plain(model: type[BaseModel]) -> type[BaseModel]:
    """``model``'s fields on a plain strict base: the same parse without the edge's validator."""
    fields: dict[str, Any] = {name: (f.annotation, f) for name, f in model.model_fields.items()}
    plain: type[BaseModel] = create_model(
        f"{model.__name__}Plain", __config__=ConfigDict(extra="forbid", strict=True, frozen=True), **fields
    )
    return plain


def _per_call(work: Callable[[], object], rounds: int) -> float:
    """Microseconds per call, the best of five runs of ``rounds``."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            work()
        best = min(best, time.perf_counter() - started)
    return best / rounds * 1e6


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def _asgi_per_call(app: Any, rounds: int) -> float:
    scope = {
        "type": "http",
        "path": "/api/v1/sessions/c8-s45/commands",
        "raw_path": b"/api/v1/sessions/c8-s45/commands",
        "query_string": b"",
    }

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Any) -> None:
        return None

    async def run() -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(rounds):
                await app(dict(scope), receive, send)
            best = min(best, time.perf_counter() - started)
        return best / rounds * 1e6

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.edge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-ballot-us", type=float, default=435.0, help="a ballot's whole server cost (µs)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    strict, plain = TypeAdapter(BallotCast), TypeAdapter(_plain(BallotCast))
    assert strict.validate_json(BODY, strict=True).model_dump() == plain.validate_json(BODY, strict=True).model_dump()
    parse_strict = _per_call(lambda: parse(strict, BODY), args.rounds)  # the edge's path: clean bodies skip
    every_field = _per_call(lambda: strict.validate_json(BODY, strict=True), args.rounds)  # field by field
    parse_plain = _per_call(lambda: plain.validate_json(BODY, strict=True), args.rounds)
    with_edge = _asgi_per_call(CleanAddresses(_app), args.rounds)
    bare = _asgi_per_call(_app, args.rounds)

    extra = (parse_strict - parse_plain) + (with_edge - bare)
    print(f"signed ballot body, {len(BODY)} bytes; best of 5 × {args.rounds:,} calls")
    print(f"  parse with the edge's checks    {parse_strict:6.2f} µs, without {parse_plain:6.2f} µs (baseline)")
    print(f"    (a body that may hold a control character, checked field by field: {every_field:.2f} µs)")
    print(f"  request through CleanAddresses  {with_edge:6.2f} µs, bare app {bare:6.2f} µs (baseline)")
    share = extra / args.per_ballot_us
    verdict = "met" if share <= 0.05 else "NOT met"
    print(
        f"edge: +{extra:.1f} µs per ballot, ratio {parse_strict / parse_plain:.2f} of the plain parse; "
        f"{share:.1%} of a ballot's {args.per_ballot_us:.0f} µs on the server [≤ 5 % {verdict}]"
    )


if __name__ == "__main__":
    main()
