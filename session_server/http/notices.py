"""The HTML pages the core answers a person with: errors on the site's pages, and «no sitting yet».

A path a browser opens (the portal, ``/display``, ``/live``, an unknown address) gets a page in
Ukrainian in the portal's style (``/static/portal.css``); the machines' paths keep the JSON errors
(``{"error", "message"}``): the API, open data, feeds, media, sockets, health checks and static files.
The portal renders its own pages' errors with the council's name (``portal_bridge/pages.py``,
``templates/base.html``, whose header and navigation these repeat); these are for everything else,
and name the council too: «Портал ради» only before there is a council or when the database cannot
be read.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Final

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse

log = logging.getLogger(__name__)

# Paths (and endings) programs read: their errors stay JSON.
_MACHINE_PREFIXES: Final = (
    "/api/",
    "/opendata/",
    "/ws/",
    "/whip",
    "/whep",
    "/.well-known/",
    "/static/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/favicon.ico",
)
_MACHINE_ENDINGS: Final = (".json", ".csv", ".atom", ".xml", ".m3u8", ".mp4", ".m4s", ".ts", ".txt")

# The catalogue of these pages (Ukrainian only, as the portal): status → (title, explanation).
ERRORS: Final[dict[int, tuple[str, str]]] = {
    400: ("Неправильна адреса", "Адреса сторінки містить неправильне значення. Перевірте її або почніть з головної."),
    404: ("Сторінку не знайдено", "За цією адресою нічого немає. Можливо, адресу набрано з помилкою."),
    405: ("Так цю сторінку не відкрити", "Ця адреса не приймає такого запиту. Відкрийте її звичайним посиланням."),
    500: ("Сталася помилка", "На сервері сталася помилка; її записано. Спробуйте ще раз трохи згодом."),
    503: (
        "Сервіс тимчасово недоступний",
        "Сервер не може зараз прочитати дані ради. Спробуйте ще раз за хвилину.",
    ),
}
NO_SITTING: Final = (
    "Засідань ще немає",
    "Рада ще не призначила жодного засідання. Ця сторінка оновиться сама, щойно засідання призначать.",
)


PORTAL: Final = "Портал ради"
"""The header's name before there is a council (or when the database cannot be read)."""
NAME_WAIT_SECONDS: Final = 2.0
"""How long an error page waits for the council's name before it settles for «Портал ради»."""


def for_people(path: str) -> bool:
    """Whether a browser opens ``path`` as a page (an HTML error), rather than a program reading it (JSON)."""
    return not path.startswith(_MACHINE_PREFIXES) and not path.endswith(_MACHINE_ENDINGS)


def error_page(status: int, headers: dict[str, str] | None = None, *, council: str | None = None) -> HTMLResponse:
    """The page for an error with HTTP ``status`` (an unknown status as 400 or 500 by its class)."""
    title, text = ERRORS.get(status) or ERRORS[500 if status >= 500 else 400]
    return HTMLResponse(_page(council or PORTAL, title, text), status, headers)


def no_sitting_page(
    headers: dict[str, str] | None = None, *, council: str | None = None, refresh_seconds: int = 30
) -> HTMLResponse:
    """``/display`` or ``/live`` before the council has any sitting: says so, and looks again every 30 s."""
    title, text = NO_SITTING
    return HTMLResponse(_page(council or PORTAL, title, text, refresh_seconds=refresh_seconds), 200, headers)


async def council_name(connection: HTTPConnection) -> str | None:
    """The name of the council the app serving ``connection`` serves; None before there is one, or when the
    database cannot be read within ``NAME_WAIT_SECONDS`` (an error page never fails, nor waits long, for
    want of it)."""
    kvorum = getattr(connection.state, "node", None)
    if kvorum is None:
        return None
    try:
        async with asyncio.timeout(NAME_WAIT_SECONDS):
            council_id = await kvorum.application.council_id()
            if council_id is None:
                return None
            name: str = (await kvorum.application.council(council_id)).name
            return name
    except Exception as exc:
        log.info("an error page names no council: %r", exc)
        return None


def _page(council: str, title: str, text: str, *, refresh_seconds: int | None = None) -> str:
    refresh = f'\n  <meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    council, title, text = html.escape(council), html.escape(title), html.escape(text)
    return f"""<!doctype html>
<html lang="uk">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">{refresh}
  <title>{title}</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/portal.css">
</head>
<body>
<header class="site">
  <a class="home" href="/">{council}</a>
  <form class="search" action="/search" method="get" role="search">
    <label for="q">Пошук рішень і питань</label>
    <input id="q" name="q" type="search" maxlength="200">
    <button type="submit">Шукати</button>
  </form>
  <nav class="sections" aria-label="Розділи">
    <ul>
      <li><a href="/">Головна</a></li>
      <li><a href="/sessions">Засідання</a></li>
      <li><a href="/decisions">Рішення</a></li>
      <li><a href="/deputies">Депутати</a></li>
    </ul>
  </nav>
</header>
<main>
  <div class="notice">
    <h1>{title}</h1>
    <p>{text}</p>
    <p><a href="/">На головну сторінку</a></p>
  </div>
</main>
</body>
</html>
"""
