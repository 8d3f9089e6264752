"""A server that reaches PostgreSQL through a link the test can cut: the database really goes away.

Import both fixtures into a test module (``from outage_support import database_link, settings``):
``settings`` then points the module's servers at the link. Where the suite's PostgreSQL is reached
through a Unix socket (the private one started when no server is given), the tests are skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from links import CuttableLink, through

from session_server.config import Settings


@pytest.fixture
async def database_link(database_url: str) -> AsyncIterator[CuttableLink]:
    parts = urlsplit(database_url)
    if not parts.hostname:
        pytest.skip("the database is reached through a Unix socket here: no TCP link to cut")
    async with CuttableLink(f"tcp://{parts.hostname}:{parts.port or 5432}") as link:
        yield link


@pytest.fixture
def settings(database_url: str, database_link: CuttableLink, tmp_path: Path) -> Settings:
    return Settings(database_url=through(database_url, database_link), data_dir=tmp_path, host="127.0.0.1", port=0)
