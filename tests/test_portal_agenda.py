"""Votes on including an item in an open sitting's agenda, as residents read them: titled from their
proposal («Про включення до порядку денного питання „…“») with its number and draft in the open data
and Popolo, on the session page and the deputy's page; filed apart from the agenda's items as the
minutes file them, so a rejected proposal never lands under the later item that got the same id."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from agenda_support import sitting_with_agenda_votes
from conftest import Demo

SOLD_TITLE = "Про включення до порядку денного питання „Про продаж нежитлового приміщення на вулиці Миру, 3“"
RENAMED_TITLE = "Про включення до порядку денного питання „Про перейменування вулиці Садової“"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").replace(" ,", ",")


def _article(html: str, item: str) -> str:
    return html.split(f'aria-labelledby="item-{item}">', 1)[1].split("</article>", 1)[0]


async def test_the_open_data_title_a_vote_on_including_an_item_from_its_proposal(demo_council: Demo) -> None:
    demo = demo_council
    await sitting_with_agenda_votes(demo)
    motions = (await demo.client.get("/opendata/ua835/motions.json")).json()
    rows = [(m["uid"], m["number"], m["title"], m["projectNumber"], m["votingResult"]) for m in motions]
    assert rows == [
        ("c8-s45-v1", "6", SOLD_TITLE, "ПР-107", "Не прийнято"),
        ("c8-s45-v2", "6", RENAMED_TITLE, "ПР-106", "Прийнято"),
        ("c8-s45-v3", "6", "Про перейменування вулиці Садової (в цілому)", "ПР-106", "Прийнято"),
    ]
    body = (await demo.client.get("/opendata/ua835/motions.csv")).content.decode("utf-8-sig")
    spreadsheet = [(r["number"], r["title"], r["projectNumber"]) for r in csv.DictReader(io.StringIO(body))]
    assert spreadsheet == [row[1:4] for row in rows]
    titles = {
        (v["motionUid"], v["motionTitle"]) for v in (await demo.client.get("/opendata/ua835/votings.json")).json()
    }
    assert ("c8-s45-v1", SOLD_TITLE) in titles and ("c8-s45-v2", RENAMED_TITLE) in titles

    popolo = (await demo.client.get("/opendata/popolo.json")).json()
    assert [m["text"] for m in popolo["motions"]][:2] == [SOLD_TITLE, RENAMED_TITLE]
    assert [e["result"] for e in popolo["vote_events"]] == ["fail", "pass", "pass"]


async def test_the_session_page_files_votes_on_the_agenda_apart_as_the_minutes_do(demo_council: Demo) -> None:
    demo = demo_council
    await sitting_with_agenda_votes(demo)
    html = (await demo.client.get("/sessions/c8-s45")).text
    changes = html.split('aria-labelledby="agenda-changes">', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'id="(vote-v\d+)"', changes) == ["vote-v1", "vote-v2"]
    text = _text(changes)
    assert (
        "Голосування «Про включення до порядку денного питання „Про продаж нежитлового приміщення на вулиці Миру, 3“»:"
        " питання не включено до порядку денного" in text
    )
    assert "Запропоновано як питання 6, проєкт рішення ПР-107." in text
    assert (
        "Голосування «Про включення до порядку денного питання „Про перейменування вулиці Садової“»:"
        " питання включено до порядку денного" in text
    )
    assert "Запропоновано як питання 6, проєкт рішення ПР-106. У порядку денному — питання 6." in text
    assert 'href="#item-i6"' in changes
    assert "За — 5, проти — 0, утрималися — 0, не голосували — 15, відсутні — 14; разом — 34." in text

    item = _article(html, "i6")  # the item the second proposal became holds its own vote only
    assert re.findall(r'id="(vote-v\d+)"', item) == ["vote-v3"]
    assert "Про продаж" not in item and "Голосування «в цілому»: прийнято" in _text(item)
    assert 'Включено до порядку денного під час засідання: <a href="#vote-v2">' in item
    assert "Включено до порядку денного" not in _article(html, "i1")

    minutes = (await demo.client.get("/sessions/c8-s45/minutes")).text
    filed = minutes.split('aria-labelledby="agenda-changes">', 1)[1].split('<section class="item"', 1)[0]
    assert re.findall(r"голосування (\d+)\)", filed) == ["1", "2"]  # the minutes file the same two there
    assert "включено під час засідання (голосування 2)" in _text(minutes)


async def test_the_deputys_page_titles_each_vote_on_the_agenda_and_links_it_on_the_session_page(
    demo_council: Demo,
) -> None:
    demo = demo_council
    await sitting_with_agenda_votes(demo)
    html = (await demo.client.get("/deputies/d01")).text
    rows: list[Any] = re.findall(r'<a href="(/sessions/c8-s45#vote-v\d)">(.*?)</a>', html)
    assert [(href, title.replace("&#34;", '"')) for href, title in rows] == [
        ("/sessions/c8-s45#vote-v3", "Про перейменування вулиці Садової (в цілому)"),
        ("/sessions/c8-s45#vote-v2", RENAMED_TITLE),
        ("/sessions/c8-s45#vote-v1", SOLD_TITLE),
    ]
    assert "> (" not in html and "(Про включення" not in html
    session = (await demo.client.get("/sessions/c8-s45")).text
    for href, _ in rows:  # each link lands on its vote
        assert f'id="{href.split("#")[1]}"' in session
