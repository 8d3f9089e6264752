"""The face the core shows its extensions: what an extension package declares, and how the core finds it.

An extension (``portal_bridge``, ``streaming``) is found through the ``kvorum.extensions`` entry point,
never imported by name, so the core stays below the packages that extend it. It brings its routes (with
their OpenAPI), its services for the app's life, its ``kvorum`` subcommands, its tables' migrations
(``schema``), and registers its kinds of record with the application and its error codes with
``session_server.domain.errors.declare``.

At run time an extension is given a ``Core``: the settings, the application (commands of every registered
kind, current states, listeners), the events to read, the ledger, and a database for its own tables —
not the process's other services (tokens, accounts, keys, the hub). Its handlers reach it with
``core_of(request)``, and the services it opened (``Opened.state``) in the app's lifespan state
(``request.state``); its durable consumers of the log (``Consumer``, ``Opened.consumers``) the core runs
with every other's, one node at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from session_server.application import Application
from session_server.application.consumers import Consumer, Retry
from session_server.config import Settings
from session_server.domain.audit import ExportCheck
from session_server.ledger.trees import Ledger
from session_server.store.ports import Database, Events
from session_server.store.schema import CORE_MIGRATIONS, Component
from session_server.store.sittings import SittingRows

__all__ = [
    "Consumer",
    "Core",
    "Database",
    "Events",
    "Extension",
    "OpenAPIPaths",
    "Opened",
    "Retry",
    "core_of",
    "installed",
    "migrations",
]


@dataclass(frozen=True, slots=True)
class Core:
    """What the core gives an extension for the app's life."""

    settings: Settings
    application: Application
    events: Events
    database: Database
    sittings: SittingRows
    """The sittings as listed (the core's ``sessions`` read model): an extension never reads the table itself."""
    ledger: Ledger | None = None
    """Signs checkpoints for exports; None where no ledger runs (a command-line rebuild)."""


@dataclass(frozen=True)
class Opened:
    """What an open extension gives the app for its life."""

    state: Mapping[str, object] = field(default_factory=dict)
    """Its services, in the app's lifespan state under these names (one the core or another extension
    uses stops the start)."""
    consumers: Sequence[Consumer] = ()
    """Its durable consumers of the log, registered by name (``session_server.application.consumers``)."""


@dataclass(frozen=True)
class OpenAPIPaths:
    """An extension's part of the document: its paths (relative to ``/api/v1``, as the core's) and the
    component schemas they refer to."""

    paths: Mapping[str, Mapping[str, Any]]
    schemas: Mapping[str, Any] = field(default_factory=dict)


def core_of(connection: HTTPConnection) -> Core:
    """The ``Core`` of the app serving ``connection`` (a request or a WebSocket)."""
    core: Core = connection.state.core
    return core


class Extension(Protocol):
    """A package that adds routes and services to the app (e.g. the decisions workflow, ``portal_bridge``)."""

    name: str
    schema: str | None
    """The package of its own numbered SQL migrations (``session_server.store.schema``), or None."""

    def routes(self) -> list[BaseRoute]:
        """Its routes under ``/api/v1``."""
        ...

    def root_routes(self) -> list[BaseRoute]:
        """Its routes at the site's root (e.g. ``/opendata/…``)."""
        ...

    def openapi(self) -> OpenAPIPaths:
        """The OpenAPI description of every route of ``routes()`` (tests/test_openapi.py fails on one left out)."""
        ...

    def check_settings(self, settings: Settings, env: Mapping[str, str]) -> None:
        """Read its own settings from ``env`` and raise ``session_server.config.ConfigError`` naming one that
        cannot be used: called when the app is made, so a typo stops the start, not a delivery hours later."""
        ...

    def open(self, core: Core) -> contextlib.AbstractAsyncContextManager[Opened]:
        """Its services for the app's life: their state (its handlers read it from ``request.state``)
        and its durable consumers of the log, which the core runs with every other's."""
        ...

    def exports(self) -> Mapping[str, ExportCheck]:
        """The formats of its own exports that ``kvorum verify`` checks offline, each with its check."""
        ...

    def add_commands(self, commands: Any, with_core: Callable[[Any, Any], None]) -> None:
        """Its ``kvorum`` subcommands on the argparse ``commands``; ``with_core(args, work)`` runs
        ``await work(core)`` against the configured database."""
        ...


async def seed_demo(core: Core) -> None:
    """``kvorum demo``: what each installed extension adds to the demo council (an optional ``seed_demo``)."""
    for extension in installed():
        seed = getattr(extension, "seed_demo", None)
        if seed is not None:
            await seed(core)


def kept_folders(settings: Settings) -> dict[str, Path]:
    """The folders of files the installed extensions keep beside the database, by a name of their own (an
    optional ``folders(settings)``: the video's recordings): backed up and restored with the database
    (``session_server.ops.backup``) and counted by the retention view."""
    found: dict[str, Path] = {}
    for extension in installed():
        folders = getattr(extension, "folders", None)
        if folders is not None:
            found.update(folders(settings))
    return found


def migrations() -> list[Component]:
    """The core's migrations, then those of every installed extension that has a schema of its own."""
    return [CORE_MIGRATIONS, *(Component(e.name, e.schema) for e in installed() if e.schema is not None)]


def installed() -> list[Extension]:
    """The installed extensions: the ``kvorum.extensions`` entry points (the outer packages are found,
    not imported by name, so ``session_server`` stays below them)."""
    found: list[Extension] = [entry.load() for entry in entry_points(group="kvorum.extensions")]
    return sorted(found, key=lambda e: e.name)
