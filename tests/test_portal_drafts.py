"""A draft decision registered by the secretary is the staff's until it is published («Оприлюднити
проєкт»): residents find it nowhere — not on the portal's pages, in search, in the open data or the
feed — and its address answers the portal's Ukrainian 404 page. Once published, it is everywhere."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from conftest import Demo
from feeds_support import ATOM, _post
from opendata_support import _json, _session_with_two_votes

# The demo's item 1 names this draft (session_server/demo.py): the first vote is on it.
DRAFT = {
    "document": "pr-101",
    "number": "ПР-101",
    "title": "Про програму «Світлі вулиці»: енергоощадні ліхтарі",
    "initiator": "Виконавчий комітет",
    "rapporteur": "Олена Бондар",
    "text": "Затвердити програму на 2027–2029 роки.",
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _everything_residents_read(demo: Demo) -> str:
    """Every page, search result, open-data set and feed a resident can read, one after another."""
    parts = []
    for path in (
        "/",
        "/decisions",
        "/sessions/c8-s45",
        "/deputies/d01",
        "/search?q=ліхтарі",
        "/search?q=ПР-101",
        "/api/v1/search?q=ліхтарі",
        "/opendata/ua835/motions.json",
        "/opendata/ua835/motions.csv",
        "/opendata/popolo.json",
        "/decisions.atom",
    ):
        response = await demo.client.get(path)
        assert response.status_code == 200, path
        parts.append(response.text)
    return "\n".join(parts)


async def test_a_draft_registered_but_not_published_is_nowhere_residents_look_until_it_is_published(
    demo_council: Demo,
) -> None:
    demo = demo_council
    await _post(demo, "secretary", "/documents", {"id": "r", **DRAFT})
    await _session_with_two_votes(demo)  # item 1, which names ПР-101, is voted on
    await _json(demo, "/opendata/ua835/votings.json")

    hidden = await demo.client.get("/decisions/pr-101")
    assert hidden.status_code == 404 and hidden.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Документ не знайдено</h1>" in hidden.text and "Вознесенська міська рада" in hidden.text
    assert "Світлі вулиці" not in hidden.text
    seen = await _everything_residents_read(demo)  # search pages echo the query («ліхтарі»), never the title
    assert "/decisions/pr-101" not in seen and "Світлі вулиці" not in seen
    decisions = _text((await demo.client.get("/decisions")).text)
    assert "Усього 0 документів" in decisions and "Рішень і проєктів ще немає." in decisions
    assert "Усі рішення і проєкти (0 документів)" in _text((await demo.client.get("/")).text)
    session = _text((await demo.client.get("/sessions/c8-s45")).text)
    assert "Проєкт рішення ПР-101" in session  # the agenda names its draft, with no link to a page that is not there

    # The staff's API lists it as it is (the console and the tablet read it).
    staff = (await demo.client.get("/api/v1/documents")).json()["documents"]
    assert [(d["id"], d["status"]) for d in staff] == [("pr-101", "registered")]

    publish = {"id": "p", "type": "document.publish_draft", "date": "2026-11-02"}
    await _post(demo, "secretary", "/documents/pr-101/commands", publish)
    page = await demo.client.get("/decisions/pr-101")
    assert page.status_code == 200 and "Стан: проєкт оприлюднено" in _text(page.text)
    assert "<h1>Про програму «Світлі вулиці»: енергоощадні ліхтарі</h1>" in page.text
    decisions = _text((await demo.client.get("/decisions")).text)
    assert "Усього 1 документ." in decisions and "Проєкт ПР-101" in decisions
    assert "Усі рішення і проєкти (1 документ)" in _text((await demo.client.get("/")).text)
    assert 'Проєкт рішення: <a href="/decisions/pr-101">ПР-101</a>' in (await demo.client.get("/sessions/c8-s45")).text
    found = (await demo.client.get("/api/v1/search", params={"q": "ліхтарі"})).json()["documents"]
    assert [d["id"] for d in found] == ["pr-101"]
    assert 'href="/decisions/pr-101"' in (await demo.client.get("/search", params={"q": "ПР-101"})).text
    [first, _] = (await demo.client.get("/opendata/ua835/motions.json")).json()
    assert first["textUrl"].endswith("/decisions/pr-101")
    # the feed lists decisions, not drafts: still nothing in it
    assert ET.fromstring((await demo.client.get("/decisions.atom")).content).findall(f"{ATOM}entry") == []
