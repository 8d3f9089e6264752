"""The ``kvorum`` command: serve, migrate, manage users, run the demo.

Every failure ends with one readable line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import getpass
import logging
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import orjson

from session_server.config import ConfigError, Settings
from session_server.domain.audit import ExportCheck
from session_server.extensions import installed, migrations
from session_server.identity.accounts import AccountError
from session_server.ledger.verifier import cmd_verify
from session_server.node import Node
from session_server.ops.logs import configure as configure_logs
from session_server.realtime import direct
from session_server.store.database import DatabaseUnavailable, database_url
from session_server.store.events import StoreError
from session_server.witness.app import add_commands as witness_commands

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A failure to report as one line."""


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "host", None):
        settings = replace(settings, host=args.host)
    if getattr(args, "port", None) is not None:
        settings = replace(settings, port=args.port)
    return settings


def _export_checks() -> dict[str, ExportCheck]:
    """The export formats the installed extensions check (``kvorum verify`` on a decision's export)."""
    return {format_: check for extension in installed() for format_, check in extension.exports().items()}


def _serve(settings: Settings, banner: Callable[[Settings], None] | None = None) -> None:
    import uvicorn

    from session_server.http.app import Served, create_app

    if banner:
        banner(settings)
    app = Served(create_app(settings))

    class Server(uvicorn.Server):
        """uvicorn's server, which on SIGTERM first lets the node's subscribers go (``Hub.release``):
        uvicorn closes idle connections at once but waits for WebSockets and event streams until
        ``timeout_graceful_shutdown``, and a rolling restart would take each node away for that long."""

        kvorum_loop: asyncio.AbstractEventLoop | None = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            kvorum = getattr(app.state, "node", None)  # once the lifespan has opened it
            if kvorum is not None and self.kvorum_loop is not None:
                self.kvorum_loop.call_soon_threadsafe(kvorum.hub.release)
            super().handle_exit(sig, frame)

        async def serve(self, sockets: list[socket.socket] | None = None) -> None:
            self.kvorum_loop = asyncio.get_running_loop()
            await super().serve(sockets)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # What start-up allocated (the app's lifespan has run) lives as long as the process: keep it
            # out of the collector's full passes, which otherwise re-walk it and pause a vote burst for
            # tens of ms. The process's decision, so here and not in the app a test may start many of.
            gc.collect()
            gc.freeze()
            # A ballot allocates a few hundred short-lived containers (request, command, event, reply); with
            # the default first threshold (700) the collector ran a young pass every few ballots, and a
            # sealed ballot, which allocates more, paid for it most: benchmarks.ballots --sealed, sealed ÷
            # plain 0.83–0.87 at (700, 10, 10), 0.94–0.95 here, the plain loop itself no slower. Cycles
            # still go, in bigger and rarer young passes (at most 50,000 objects wait for one).
            gc.set_threshold(50_000, 20, 20)

    server = Server(uvicorn.Config(app, **uvicorn_options(settings)))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C (uvicorn raises it again once stopped), as uvicorn.run
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE: the start-up failed and was logged


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``kvorum serve`` runs uvicorn (tests start their servers the same way)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "log_config": None,  # uvicorn's lines go through the process's logging: plain or JSON, redacted
        "access_log": False,
        "ws_max_size": 64 * 1024,  # a bigger WebSocket message is refused with close code 1009
        "ws_ping_interval": 20.0,  # heartbeats: a peer that stops answering is dropped
        "ws_ping_timeout": 20.0,
        # Events are ~250 bytes: compressing them per subscriber doubled the CPU per delivery and the
        # memory per idle socket (76 → 34 KiB) for almost no saving (benchmarks.fanout).
        "ws_per_message_deflate": False,
        # uvicorn's own protocols, plus a way for the hub to write an event's ready bytes at once
        # (or uvicorn's plain ones, said loudly, if this uvicorn lacks what they rely on).
        **direct.protocols(),
        # On SIGTERM, open WebSockets and SSE streams get this long to end before the node stops anyway;
        # their clients resume on another node.
        "timeout_graceful_shutdown": 10,
        # X-Forwarded-For names the client only when a trusted proxy sent it (KVORUM_TRUSTED_PROXIES).
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
    }


def _with_database(settings: Settings, work: Callable[[Node], Awaitable[None]]) -> None:
    async def run() -> None:
        async with Node.open(settings) as kvorum:
            await work(kvorum)

    asyncio.run(run())


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the API (embedded PostgreSQL unless KVORUM_DATABASE_URL is set)."""
    _serve(_settings(args))


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending schema migrations and say which; with ``--check``, only say which would run (exit 1
    when some would, 0 when the schema is up to date), changing nothing."""
    from session_server.store.database import create_pool
    from session_server.store.schema import CORE, migrate, pending

    settings = _settings(args)
    check = bool(getattr(args, "check", False))

    async def run() -> list[Any]:
        async with database_url(settings.database_url, settings.data_dir) as url:
            pool = await create_pool(url, size=2)
            try:
                async with pool.acquire() as conn:
                    return await (pending if check else migrate)(conn, migrations())
            finally:
                await pool.close()

    done = asyncio.run(run())
    for m in done:
        owner = "" if m.component == CORE else f"{m.component}/"  # an extension's own tables
        print(f"{'would apply' if check else 'applied'} {owner}{m.version:04d}_{m.name}")
    if not done:
        print("schema is up to date")
    return 1 if check and done else 0


def _reason(exc: BaseException) -> str:
    """An error as one line: an OSError's file and reason, a database's message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def cmd_backup(args: argparse.Namespace) -> None:
    """Write a backup of the database and the kept files into a new folder (``session_server.ops.backup``)."""
    from session_server.ops.backup import BackupError, backup

    try:
        done = backup(_settings(args), Path(args.folder))
    except (BackupError, OSError, asyncpg.PostgresError) as exc:  # a full disk, a refused password: one line
        raise CliError(f"backup: {_reason(exc)}") from None
    print(done.line("backed up into"))


def cmd_restore(args: argparse.Namespace) -> None:
    """Restore a backup into an empty database and empty file folders; with ``--check``, only check its sums."""
    from session_server.ops.backup import BackupError, files, read_manifest, restore

    folder = Path(args.folder)
    try:
        if args.check:
            manifest = read_manifest(folder)
            print(f"{folder} is whole: {files(len(manifest['files']))} as listed, made {manifest['created']}")
            return
        done = restore(_settings(args), folder)
    except (BackupError, OSError, asyncpg.PostgresError) as exc:
        raise CliError(f"restore: {_reason(exc)}") from None
    print(done.line("restored from"))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CliError("the passwords differ")
    if not password:
        raise CliError("empty password")
    return password


def cmd_user_add(args: argparse.Namespace) -> None:
    """Create an account."""
    password = _read_password(args)

    async def work(kvorum: Node) -> None:
        user = await kvorum.accounts.add(
            args.username, password, args.role, member=args.member, display_name=args.name or ""
        )
        print(f"created {user.username} ({user.role})")

    _with_database(_settings(args), work)


def cmd_user_list(args: argparse.Namespace) -> None:
    """List accounts."""

    async def work(kvorum: Node) -> None:
        users = await kvorum.accounts.list()
        if not users:
            print("no users yet: kvorum user add NAME --role ROLE")
        for u in users:
            flags = (" (disabled)" if u.disabled else "") + (" (demo password)" if u.demo_password else "")
            print(f"{u.username:<16} {u.role:<10} {u.member or '-':<8} {u.display_name}{flags}")

    _with_database(_settings(args), work)


def cmd_user_passwd(args: argparse.Namespace) -> None:
    """Set a new password; the user's sign-ins are revoked."""
    password = _read_password(args)

    async def work(kvorum: Node) -> None:
        await kvorum.accounts.set_password(args.username, password)
        print(f"password of {args.username} changed; its sign-ins were revoked")

    _with_database(_settings(args), work)


def cmd_user_disable(args: argparse.Namespace) -> None:
    """Disable an account (its sign-ins and access tokens stop working on every node within 2 s), or
    enable it again (``kvorum user enable``, or ``--enable``)."""
    enable = bool(getattr(args, "enable", False))

    async def work(kvorum: Node) -> None:
        await kvorum.accounts.set_disabled(args.username, not enable)
        print(f"{args.username} {'enabled' if enable else 'disabled; its sign-ins and access tokens were revoked'}")

    _with_database(_settings(args), work)


def cmd_user_role(args: argparse.Namespace) -> None:
    """Give an account another role; its access tokens stop working and its next sign-in carries the role."""

    async def work(kvorum: Node) -> None:
        user = await kvorum.accounts.set_role(args.username, args.role)
        print(f"{user.username} is now {user.role}; its sign-ins and access tokens were revoked")

    _with_database(_settings(args), work)


def cmd_user_unlock(args: argparse.Namespace) -> None:
    """Let an account sign in again at once after failed attempts slowed it down."""

    async def work(kvorum: Node) -> None:
        if await kvorum.accounts.get_by_name(args.username) is None:
            raise AccountError("unknown_user", f"no user {args.username!r}")
        await kvorum.sign_ins.unlock(args.username, by="command line")
        print(f"{args.username} may sign in again at once")

    _with_database(_settings(args), work)


def cmd_demo(args: argparse.Namespace) -> None:
    """Seed the demo council into the database, start its two demo witnesses and serve it."""
    from session_server import demo
    from session_server.extensions import seed_demo
    from session_server.witness.demo import DemoWitness, demo_witnesses, forget_demo_witnesses

    settings = replace(_settings(args), demo=True)
    witnesses: list[DemoWitness] = []

    def banner(s: Settings) -> None:
        base = f"http://{'localhost' if s.host in ('127.0.0.1', '0.0.0.0') else s.host}:{s.port}"
        print(
            f"\nKvorum demo — {demo.COUNCIL_NAME}\n"
            f"  API:       {base}/api/v1/\n"
            f"  OpenAPI:   {base}/api/v1/openapi.json\n"
            f"  Council:   {base}/api/v1/council\n"
            f"  Session:   {base}/api/v1/sessions/{demo.SESSION_ID}\n"
            f"  Health:    {base}/healthz\n"
            f"  Pages:     {base}/tablet  {base}/console  {base}/display/{demo.SESSION_ID}\n"
            f"             {base}/live/{demo.SESSION_ID}  {base}/broadcast  {base}/sign  {base}/ (the portal)\n"
            f"  Guides:    docs/uk/README.md (Ukrainian)\n"
            f"Accounts, all with the password «{demo.PASSWORD}»: admin, secretary, operator (video),\n"
            f"  chair (the mayor), deputy01 … deputy{demo.COMPOSITION}.\n"
            f"  The demo council takes unsigned ballots, so it can be tried without enrolling a tablet.\n"
            f"  Data: {settings.database_url or s.data_dir / 'postgres'}\n"
            f"Witnesses: two DEMO witnesses cosign the ledger beside this server "
            f"({', '.join(f'{w.name} at {w.url}' for w in witnesses)});\n"
            f"  they run on the council's own machine and prove nothing: a real council's witnesses are run by\n"
            f"  others (docs/witness.md). Check a ballot's receipt at {base}/receipt\n",
            flush=True,
        )

    stack = contextlib.ExitStack()

    async def prepare(kvorum: Node) -> None:
        await demo.seed(kvorum)
        await demo.seed_committees(kvorum)
        await seed_demo(kvorum.core())  # the extensions' part: the drafts, sent to the committees
        origin = f"{kvorum.settings.ledger_origin}/{demo.COUNCIL_ID}"
        started = demo_witnesses(kvorum.settings.data_dir, kvorum.settings.port, origin, kvorum.ledger.signer.vkey)
        witnesses.extend(stack.enter_context(started))
        await demo.list_witnesses(kvorum, witnesses)

    def start_afresh(url: str) -> None:
        if not args.reset:
            return
        try:
            asyncio.run(demo.reset(url, settings.data_dir / "video"))
        except demo.DemoResetRefused as exc:
            raise CliError(str(exc)) from None
        forget_demo_witnesses(settings.data_dir)
        print("the demo council's data were erased; seeding it afresh", flush=True)

    if settings.database_url:
        start_afresh(settings.database_url)
        with stack:
            _with_database(settings, prepare)
            _serve(settings, banner)
        return
    # One embedded server for seeding and serving, so it is not stopped and started in between.
    from session_server.store.database import embedded_postgres

    with embedded_postgres(settings.data_dir) as url, stack:
        start_afresh(url)
        settings = replace(settings, database_url=url)
        _with_database(settings, prepare)
        _serve(settings, banner)


def cmd_ledger_export(args: argparse.Namespace) -> None:
    """Write a session's ledger export (what ``kvorum verify`` reads) to a file or stdout."""
    from session_server.http.ledger_routes import build_export
    from session_server.http.responses import ApiError

    async def work(kvorum: Node) -> None:
        try:
            export = await build_export(kvorum, args.session)
        except ApiError as exc:
            raise CliError(exc.message) from None
        data = orjson.dumps(export)
        if args.output == "-":
            sys.stdout.buffer.write(data + b"\n")
            return
        await asyncio.to_thread(Path(args.output).write_bytes, data)
        print(f"{args.output}: {len(export['session_ledger']['leaves'])} events of session {args.session}")

    _with_database(_settings(args), work)


def cmd_events_schema(args: argparse.Namespace) -> None:
    """Print the JSON Schema of every event type's payload: the core's and the installed extensions'."""
    from session_server.domain import council_events, session_events  # the core's event types
    from session_server.domain.event_schema import event_schemas

    assert council_events and session_events
    installed()  # loading the extensions declares theirs
    schema = orjson.dumps(event_schemas(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    sys.stdout.buffer.write(schema + b"\n")


def cmd_ledger_rotate(args: argparse.Namespace) -> None:
    """Retire the checkpoint key and make a new one; print the new verifier key."""

    async def work(kvorum: Node) -> None:
        print(await kvorum.ledger.rotate_key())

    _with_database(_settings(args), work)


def parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    top = argparse.ArgumentParser(prog="kvorum", description="Kvorum: council plenary sessions.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def served(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="address to listen on (KVORUM_HOST, default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port (KVORUM_PORT, default 8000)")

    p = sub.add_parser("serve", help="serve the API")
    served(p)
    p.set_defaults(run=cmd_serve)
    p = sub.add_parser("demo", help="seed the demo council and serve it")
    served(p)
    p.add_argument(
        "--reset", action="store_true", help="erase the demo council's data first (refused for a real council)"
    )
    p.set_defaults(run=cmd_demo)
    witness_commands(sub)
    p = sub.add_parser("migrate", help="apply schema migrations")
    p.add_argument("--check", action="store_true", help="only list the migrations that would run (exit 1 if any)")
    p.set_defaults(run=cmd_migrate)

    p = sub.add_parser("backup", help="back up the database and the recordings into a new folder, while serving")
    p.add_argument("folder", help="a folder that does not exist yet or is empty")
    p.set_defaults(run=cmd_backup)
    p = sub.add_parser("restore", help="restore a backup into an empty database and data folder")
    p.add_argument("folder", help="a folder written by `kvorum backup`")
    p.add_argument("--check", action="store_true", help="only check every file against the manifest's SHA-256")
    p.set_defaults(run=cmd_restore)
    users = sub.add_parser("user", help="manage accounts").add_subparsers(dest="user_command", required=True)
    p = users.add_parser("add", help="create an account (password from the prompt or stdin)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["admin", "secretary", "chair", "deputy", "observer", "operator"])
    p.add_argument("--member", help="council member id for a deputy or the mayor (e.g. d07, mayor)")
    p.add_argument("--name", help="display name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(run=cmd_user_add)
    p = users.add_parser("list", help="list accounts")
    p.set_defaults(run=cmd_user_list)
    p = users.add_parser("passwd", help="set a password (revokes the user's sign-ins)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(run=cmd_user_passwd)
    p = users.add_parser("disable", help="disable an account (revokes its sign-ins); --enable undoes it")
    p.add_argument("username")
    p.add_argument("--enable", action="store_true", help="enable the account again")
    p.set_defaults(run=cmd_user_disable)
    p = users.add_parser("enable", help="enable a disabled account again")
    p.add_argument("username")
    p.set_defaults(run=cmd_user_disable, enable=True)
    p = users.add_parser("role", help="give an account another role (revokes its sign-ins and tokens)")
    p.add_argument("username")
    p.add_argument("role", choices=["admin", "secretary", "chair", "deputy", "observer"])
    p.set_defaults(run=cmd_user_role)
    p = users.add_parser("unlock", help="let an account slowed down by failed sign-ins try again at once")
    p.add_argument("username")
    p.set_defaults(run=cmd_user_unlock)

    p = sub.add_parser(
        "verify", help="verify a session's ledger or a decision's signature offline; exit 1 on a discrepancy"
    )
    p.add_argument(
        "source",
        help="an export file, or …/api/v1/sessions/<id>, …/api/v1/documents/<id> or …/decisions/<id>",
    )
    p.add_argument("--key", action="append", help="trust only this verifier key (vkey line; repeatable)")
    p.add_argument("--keys-url", help="trust the keys published at this URL (…/.well-known/kvorum/keys)")
    p.add_argument(
        "--checkpoint",
        action="append",
        help="a signed checkpoint of the session published elsewhere (a file or …/ledger/checkpoint URL; "
        "repeatable): the ledger must agree with it and reach it",
    )
    p.add_argument(
        "--witness",
        action="append",
        help="a witness's verifier key (repeatable): its cosignatures must verify; see --witnesses-needed",
    )
    p.add_argument(
        "--witnesses-needed",
        type=int,
        metavar="K",
        help="how many of the --witness keys must have cosigned each ledger's last checkpoint (default: all)",
    )
    p.add_argument(
        "--receipt",
        action="append",
        help="a deputy's receipt of a ballot (kvorum-receipt-v1 file; repeatable): the ledger must hold that ballot",
    )
    p.set_defaults(run=functools.partial(cmd_verify, checks=_export_checks))
    ledger = sub.add_parser("ledger", help="the public ledger").add_subparsers(dest="ledger_command", required=True)
    p = ledger.add_parser("export", help="write a session's ledger to a file for `kvorum verify`")
    p.add_argument("session")
    p.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    p.set_defaults(run=cmd_ledger_export)
    p = ledger.add_parser("rotate-key", help="retire the checkpoint key, make a new one (old checkpoints still verify)")
    p.set_defaults(run=cmd_ledger_rotate)
    events = sub.add_parser("events", help="the event types").add_subparsers(dest="events_command", required=True)
    p = events.add_parser("schema", help="print the JSON Schema of every event type's payload")
    p.set_defaults(run=cmd_events_schema)

    for extension in installed():
        extension.add_commands(sub, lambda args, work: _with_database(_settings(args), lambda k: work(k.core())))
    return top


class _Terminated(BaseException):
    """SIGTERM (systemd or docker stopping us), raised so that every ``finally`` runs."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kvorum`` console script."""
    args = parser().parse_args(argv)
    # uvicorn stops gracefully on SIGTERM and then raises the signal again; with the default action
    # that would kill the process before the embedded PostgreSQL is stopped. Unwind instead.
    if threading.current_thread() is threading.main_thread():  # signals go to the main thread only
        signal.signal(signal.SIGTERM, _terminate)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request to a witness says nothing new
    try:
        configure_logs()  # plain or JSON (KVORUM_LOG_FORMAT=json), never a password or a token
        code = args.run(args)
    except (CliError, ConfigError, AccountError, DatabaseUnavailable, StoreError) as exc:
        print(f"kvorum: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError | CliError) else EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        return 0  # a requested stop, completed
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
