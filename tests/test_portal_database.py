"""When PostgreSQL cannot be reached, the portal's pages say so in Ukrainian (503), the API in JSON.

The database is really taken away (dropped with its connections terminated), never mocked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
from conftest import Demo

PAGES = (
    "/",
    "/sessions",
    "/sessions/c8-s45",
    "/sessions/c8-s45/minutes",
    "/decisions",
    "/decisions/pr-101",
    "/deputies",
    "/deputies/d01",
    "/search?q=бюджет",
    "/display",
    "/live?lang=en",
)


async def test_pages_answer_a_ukrainian_503_page_when_the_database_is_gone(
    demo_council: Demo, pg_server_url: str, database_url: str
) -> None:
    client = demo_council.client
    assert (await client.get("/sessions")).status_code == 200
    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # terminates the app's connections too
    finally:
        await admin.close()

    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 503, (path, response.text[:300])
        assert response.headers["content-type"] == "text/html; charset=utf-8", path
        assert "<h1>Сервіс тимчасово недоступний</h1>" in response.text, path
        assert "Спробуйте ще раз за хвилину" in response.text and 'href="/static/portal.css"' in response.text
        assert "script-src 'self'" in response.headers["content-security-policy"]
    # the council's name cannot be read: the header says «Портал ради», and the page is not held up for it
    missing = await client.get("/nope")
    assert missing.status_code == 404 and "<h1>Сторінку не знайдено</h1>" in missing.text
    assert '<a class="home" href="/">Портал ради</a>' in missing.text
    api = await client.get("/api/v1/sessions")
    assert api.status_code == 503 and api.headers["content-type"] == "application/json"
    assert api.json()["error"] == "store_unavailable"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
