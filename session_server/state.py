"""Everything a running Kvorum process holds, opened and closed as one unit."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import asyncpg

from session_server.config import Settings
from session_server.identity.accounts import Accounts
from session_server.identity.sign_ins import SignIns
from session_server.identity.tokens import AccessTokens, Keyring, RefreshTokens, Revocations
from session_server.ledger.trees import Ledger
from session_server.realtime.broker import Broker, open_broker
from session_server.realtime.hub import Hub
from session_server.service import HOT_STATEMENTS, Sessions
from session_server.store.database import create_pool, database_url, warm
from session_server.store.events import EventStore, StoredEvent
from session_server.store.schema import migrate


@dataclass(slots=True)
class Kvorum:
    """The services of one process over one database."""

    settings: Settings
    pool: asyncpg.Pool
    store: EventStore
    sessions: Sessions
    accounts: Accounts
    keyring: Keyring
    access: AccessTokens
    refresh: RefreshTokens
    hub: Hub
    broker: Broker
    ledger: Ledger
    sign_ins: SignIns
    revocations: Revocations

    def _fan_out(self, events: Sequence[StoredEvent]) -> None:
        """After a commit: this node's subscribers first, then the other nodes."""
        stream = events[0].stream
        self.hub.offer(stream, events)
        self.broker.publish(stream, events)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Kvorum]:
        """Connect (starting the embedded PostgreSQL when no URL is set), migrate, load keys; close on exit."""
        broker = open_broker(settings.broker_url)  # an unknown scheme fails before anything starts
        async with database_url(settings.database_url, settings.data_dir) as url:
            pool = await create_pool(url, size=settings.pool_size, hot=HOT_STATEMENTS)
            try:
                async with pool.acquire() as conn:
                    await migrate(conn)
                    await warm(conn, HOT_STATEMENTS)
                keyring = Keyring(pool)
                await keyring.load()
                store = EventStore(pool)
                hub = Hub(store, queue_limit=settings.subscriber_queue)
                ledger = Ledger(pool, origin=settings.ledger_origin, interval=settings.checkpoint_seconds)
                await ledger.load_keys()
                access = AccessTokens(keyring, lifetime=settings.access_token_seconds)
                kvorum = cls(
                    settings=settings,
                    pool=pool,
                    store=store,
                    sessions=Sessions(store),
                    accounts=Accounts(pool),
                    keyring=keyring,
                    access=access,
                    refresh=RefreshTokens(pool, lifetime=settings.refresh_token_seconds),
                    hub=hub,
                    broker=broker,
                    ledger=ledger,
                    sign_ins=SignIns(pool),
                    revocations=Revocations(pool, access),
                )
                kvorum.sessions.listeners.append(kvorum._fan_out)
                kvorum.sessions.listeners.append(ledger.on_commit)
                await hub.start()
                await ledger.start()
                await broker.start(hub.offer, hub.reconcile_now)
                try:
                    await kvorum.sessions.start()
                    await kvorum.revocations.start()
                    yield kvorum
                finally:
                    await kvorum.revocations.close()
                    await kvorum.sessions.close()
                    await ledger.close()
                    await broker.close()
                    await hub.close()
            finally:
                await pool.close()
