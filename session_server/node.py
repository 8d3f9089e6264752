"""Everything a running Kvorum process holds, opened and closed as one unit."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import asyncpg

from session_server.application import Application, core_application
from session_server.application.deadlines import VoteDeadlines
from session_server.application.sitting import HOT_STATEMENTS
from session_server.config import Settings
from session_server.extensions import Core, migrations
from session_server.identity.accounts import Accounts
from session_server.identity.enrollment import Enrollments
from session_server.identity.sign_ins import SignIns
from session_server.identity.tokens import AccessTokens, Keyring, RefreshTokens, Revocations
from session_server.ledger.trees import Ledger
from session_server.ledger.witnessing import Witnessing
from session_server.realtime.broker import Broker, open_broker
from session_server.realtime.hub import Hub
from session_server.store.database import create_pool, database_url, warm
from session_server.store.events import EventStore, StoredEvent
from session_server.store.schema import migrate
from session_server.store.sittings import SittingRows

LEDGERED = ("council", "session")
"""The kinds of record whose streams are fanned out to subscribers and kept in the ledger."""


@dataclass(slots=True)
class Node:
    """The services of one process over one database."""

    settings: Settings
    pool: asyncpg.Pool
    store: EventStore
    application: Application
    deadlines: VoteDeadlines
    sittings: SittingRows
    accounts: Accounts
    keyring: Keyring
    access: AccessTokens
    refresh: RefreshTokens
    hub: Hub
    broker: Broker
    ledger: Ledger
    witnessing: Witnessing
    sign_ins: SignIns
    enrollments: Enrollments
    revocations: Revocations

    def core(self) -> Core:
        """The face the extensions are given (``session_server.extensions``): not these services themselves."""
        return Core(self.settings, self.application, self.store, self.pool, self.sittings, self.ledger)

    def _fan_out(self, events: Sequence[StoredEvent]) -> None:
        """After a commit: this node's subscribers first, then the other nodes."""
        stream = events[0].stream
        self.hub.offer(stream, events)
        self.broker.publish(stream, events)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Node]:
        """Connect (starting the embedded PostgreSQL when no URL is set), migrate, load keys; close on exit."""
        broker = open_broker(settings.broker_url)  # an unknown scheme fails before anything starts
        async with database_url(settings.database_url, settings.data_dir) as url:
            pool = await create_pool(url, size=settings.pool_size, hot=HOT_STATEMENTS)
            try:
                async with pool.acquire() as conn:
                    await migrate(conn, migrations())
                    await warm(conn, HOT_STATEMENTS)
                keyring = Keyring(pool)
                await keyring.load()
                store = EventStore(pool)
                hub = Hub(store, queue_limit=settings.subscriber_queue)
                ledger = Ledger(pool, origin=settings.ledger_origin, interval=settings.checkpoint_seconds)
                await ledger.load_keys()
                access = AccessTokens(keyring, lifetime=settings.access_token_seconds)
                application = core_application(store)
                sittings = SittingRows(pool)
                kvorum = cls(
                    settings=settings,
                    pool=pool,
                    store=store,
                    application=application,
                    deadlines=VoteDeadlines(application, sittings),
                    sittings=sittings,
                    accounts=Accounts(pool),
                    keyring=keyring,
                    access=access,
                    refresh=RefreshTokens(pool, lifetime=settings.refresh_token_seconds),
                    hub=hub,
                    broker=broker,
                    ledger=ledger,
                    witnessing=Witnessing(pool, ledger, application, retry=settings.witness_retry_seconds),
                    sign_ins=SignIns(pool),
                    enrollments=Enrollments(pool, lifetime_seconds=settings.enrollment_seconds),
                    revocations=Revocations(pool, access),
                )
                # what is public and ledgered: the council and its sittings (documents have their own exports)
                application.listen(kvorum._fan_out, kinds=LEDGERED)
                application.listen(ledger.on_commit, kinds=LEDGERED)
                ledger.on_signed(kvorum.witnessing.on_signed)
                await hub.start()
                await ledger.start()
                await kvorum.witnessing.start()
                await broker.start(hub.offer, hub.reconcile_now)
                try:
                    await kvorum.deadlines.start()
                    await kvorum.revocations.start()
                    yield kvorum
                finally:
                    await kvorum.revocations.close()
                    await kvorum.deadlines.close()
                    await application.close()
                    await ledger.close()
                    await kvorum.witnessing.close()
                    await broker.close()
                    await hub.close()
            finally:
                await pool.close()
