"""``kvorum`` of the next release: the installed migrations, then this release's own."""

from __future__ import annotations

import sys

from next_release import MIGRATIONS
from session_server import extensions, node
from session_server.cli import main
from session_server.store.schema import Component


def _migrations() -> list[Component]:
    return [*extensions.migrations(), MIGRATIONS]


node.migrations = _migrations  # type: ignore[assignment]  # what Node.open applies at the start
raise SystemExit(main(sys.argv[1:]))
