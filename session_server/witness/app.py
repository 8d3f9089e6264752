"""The witness's HTTP service: ``POST /add-checkpoint`` (C2SP tlog-witness) and ``GET /`` saying who it is
(its name, its verifier key, the origins it follows, and each log it cosigned with the latest size)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from session_server.witness.state import WitnessError, WitnessFolder

__all__ = ["add_commands", "witness_app"]

MAX_BODY = 64 * 1024
"""A checkpoint, its signatures and 63 proof hashes fit well within this."""


def witness_app(folder: WitnessFolder) -> Starlette:
    """The witness's ASGI app over ``folder``."""

    async def add_checkpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("the body is larger than a checkpoint with its proof\n", status_code=413)
        answer = folder.add_checkpoint(body, int(time.time()))
        # the type exactly as tlog-witness names it (a media_type would get "; charset=utf-8" appended)
        return Response(answer.body.encode(), status_code=answer.status, headers={"Content-Type": answer.content_type})

    async def about(request: Request) -> Response:
        latest = folder.latest()
        lines = [f"witness {folder.signer.verifier.name}", f"key {folder.signer.verifier.vkey}"]
        lines += [f"follows {origin}" for origin in sorted(folder.logs)]
        lines += [f"log {origin} {latest[origin].size}" for origin in sorted(latest)]
        return PlainTextResponse("\n".join(lines) + "\n")

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"]), Route("/", about)])


def add_commands(sub: Any) -> None:
    """``kvorum witness init|follow|serve`` on the command line's subparsers."""
    witness = sub.add_parser("witness", help="run a witness of councils' ledgers (C2SP tlog-witness)")
    commands = witness.add_subparsers(dest="witness_command", required=True)
    p = commands.add_parser("init", help="make a witness: a new key in FOLDER; prints its verifier key")
    p.add_argument("folder", type=Path)
    p.add_argument("--name", required=True, help="the witness's name, e.g. witness.ngo.example/w1")
    p.set_defaults(run=_init)
    p = commands.add_parser(
        "follow", help="follow a council's ledgers: its origin (covering each sitting's below it) and checkpoint key"
    )
    p.add_argument("folder", type=Path)
    p.add_argument(
        "origin", help="the council's origin, e.g. rada.example/voznesensk (covers rada.example/voznesensk/*)"
    )
    p.add_argument("key", help="its verifier key, from the council's /.well-known/kvorum/keys")
    p.set_defaults(run=_follow)
    p = commands.add_parser("serve", help="answer add-checkpoint requests")
    p.add_argument("folder", type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8730)
    p.set_defaults(run=_serve)


def _open(args: argparse.Namespace) -> WitnessFolder:
    try:
        return WitnessFolder.open(args.folder)
    except WitnessError as exc:
        raise SystemExit(f"kvorum witness: {exc}") from None


def _init(args: argparse.Namespace) -> None:
    try:
        folder = WitnessFolder.init(args.folder, args.name)
    except (WitnessError, ValueError) as exc:
        raise SystemExit(f"kvorum witness: {exc}") from None
    print(folder.signer.verifier.vkey)


def _follow(args: argparse.Namespace) -> None:
    folder = _open(args)
    try:
        folder.follow(args.origin, args.key)
    except WitnessError as exc:
        raise SystemExit(f"kvorum witness: {exc}") from None
    print(f"following {args.origin}")


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(witness_app(_open(args)), host=args.host, port=args.port, log_level="info", access_log=False)
