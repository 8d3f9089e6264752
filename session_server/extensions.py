"""The face the core shows its extensions: what an extension package declares, and how the core finds it.

An extension (``portal_bridge``, ``streaming``) is found through the ``kvorum.extensions`` entry point,
never imported by name, so the core stays below the packages that extend it. It brings its routes (with
their OpenAPI), its services for the app's life, its ``kvorum`` subcommands, its tables' migrations
(``schema``), and registers its kinds of record with the application and its error codes with
``session_server.domain.errors.declare``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from session_server.http.openapi import OpenAPIPaths
    from session_server.state import Kvorum

__all__ = ["Extension", "installed"]


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

    def open(self, kvorum: Kvorum, app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
        """Its services for the app's life."""
        ...

    def add_commands(self, commands: Any, with_database: Callable[[Any, Any], None]) -> None:
        """Its ``kvorum`` subcommands on the argparse ``commands``; ``with_database(args, work)`` runs
        ``await work(kvorum)`` against the configured database."""
        ...


def installed() -> list[Extension]:
    """The installed extensions: the ``kvorum.extensions`` entry points (the outer packages are found,
    not imported by name, so ``session_server`` stays below them)."""
    found: list[Extension] = [entry.load() for entry in entry_points(group="kvorum.extensions")]
    return sorted(found, key=lambda e: e.name)
