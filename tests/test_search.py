"""Search over decisions and agenda items in Ukrainian: prefixes, several words, apostrophes."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Demo

from portal_bridge.search import tsquery


async def _search(demo: Demo, q: str, *, want_items: int = 0) -> Any:
    for _ in range(200):  # the agenda is indexed by a consumer right after the commit
        body = (await demo.client.get("/api/v1/search", params={"q": q})).json()
        if len(body["items"]) >= want_items:
            return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"no {want_items} items for {q!r}: {body}")


async def test_search_finds_agenda_items_and_decisions_by_word_prefixes(demo_council: Demo) -> None:
    demo = demo_council
    body = await _search(demo, "бюдж", want_items=2)
    assert sorted(i["number"] for i in body["items"]) == ["2", "3"]
    assert {i["draft"] for i in body["items"]} == {"ПР-102", "ПР-103"}
    assert [i["number"] for i in (await _search(demo, "бюджет участі", want_items=1))["items"]] == ["3"]
    assert [i["number"] for i in (await _search(demo, "Електрон урядув", want_items=1))["items"]] == ["1"]

    document = {"id": "r", "document": "pr-110", "number": "ПР-110", "title": "Про вшанування пам'яті захисників"}
    document |= {"initiator": "І", "rapporteur": "Р", "text": "Встановити меморіальну дошку на вулиці Соборній."}
    response = await demo.client.post("/api/v1/documents", json=document, headers=await demo.headers("secretary"))
    assert response.status_code == 201, response.text
    for query in ("памяті", "пам’яті", "ПАМ'ЯТ", "меморіальн дошк", "пр-110"):
        found = (await demo.client.get("/api/v1/search", params={"q": query})).json()["documents"]
        assert [d["id"] for d in found] == ["pr-110"], query
    assert (await demo.client.get("/api/v1/search", params={"q": "трамвай"})).json()["documents"] == []

    # the index follows agenda edits
    await demo.ok("secretary", "item.update", item="i5", title="Про ремонт мосту через Південний Буг")
    assert [i["item"] for i in (await _search(demo, "ремонт мосту", want_items=1))["items"]] == ["i5"]
    bad = await demo.client.get("/api/v1/search", params={"q": "  !!  "})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_parameter")


def test_queries_are_made_safe() -> None:
    assert tsquery("Бюджет участі!") == "бюджет:* & участі:*"
    assert tsquery("a & b | !c :*") == "a:* & b:* & c:*"
    assert tsquery("'; DROP TABLE documents; --") == "drop:* & table:* & documents:*"
    assert tsquery("   ") is None
