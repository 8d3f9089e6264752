"""Search over decisions and agenda items in Ukrainian: inflected words, prefixes, several words, apostrophes."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import pytest
from conftest import Demo

from portal_bridge.search import words
from session_server.store.dictionaries import hunspell_ukrainian

# Inflected search needs Debian's hunspell-uk (`make test` on a bare machine skips these; CI installs
# it and sets KVORUM_REQUIRE_DICTIONARY=1, so there they fail instead of skipping).
needs_dictionary = pytest.mark.skipif(
    hunspell_ukrainian() is None and os.environ.get("KVORUM_REQUIRE_DICTIONARY") != "1",
    reason="no hunspell-uk: apt-get install hunspell-uk (search then matches word beginnings only)",
)


async def _search(demo: Demo, q: str, *, want_items: int = 0) -> Any:
    for _ in range(200):  # the agenda is indexed by a consumer right after the commit
        body = (await demo.client.get("/api/v1/search", params={"q": q})).json()
        if len(body["items"]) >= want_items:
            return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"no {want_items} items for {q!r}: {body}")


async def _draft(demo: Demo, document: dict[str, str], *, publish: bool = True) -> None:
    """Register a draft decision and, unless told not to, publish it for residents."""
    headers = await demo.headers("secretary")
    response = await demo.client.post("/api/v1/documents", json=document, headers=headers)
    assert response.status_code == 201, response.text
    if publish:
        command = {"id": f"{document['id']}-publish", "type": "document.publish_draft", "date": "2026-11-02"}
        path = f"/api/v1/documents/{document['document']}/commands"
        response = await demo.client.post(path, json=command, headers=headers)
        assert response.status_code == 200, response.text


async def test_search_finds_agenda_items_and_decisions_by_word_prefixes(demo_council: Demo) -> None:
    demo = demo_council
    body = await _search(demo, "бюдж", want_items=2)
    assert sorted(i["number"] for i in body["items"]) == ["2", "3"]
    assert {i["draft"] for i in body["items"]} == {"ПР-102", "ПР-103"}
    assert [i["number"] for i in (await _search(demo, "бюджет участі", want_items=1))["items"]] == ["3"]
    assert [i["number"] for i in (await _search(demo, "Електрон урядув", want_items=1))["items"]] == ["1"]

    document = {"id": "r", "document": "pr-110", "number": "ПР-110", "title": "Про вшанування пам'яті захисників"}
    document |= {"initiator": "І", "rapporteur": "Р", "text": "Встановити меморіальну дошку на вулиці Соборній."}
    await _draft(demo, document)
    for query in ("памяті", "пам’яті", "ПАМ'ЯТ", "меморіальн дошк", "пр-110"):
        found = (await demo.client.get("/api/v1/search", params={"q": query})).json()["documents"]
        assert [d["id"] for d in found] == ["pr-110"], query
    assert (await demo.client.get("/api/v1/search", params={"q": "трамвай"})).json()["documents"] == []

    # the index follows agenda edits
    await demo.ok("secretary", "item.update", item="i5", title="Про ремонт мосту через Південний Буг")
    assert [i["item"] for i in (await _search(demo, "ремонт мосту", want_items=1))["items"]] == ["i5"]
    bad = await demo.client.get("/api/v1/search", params={"q": "  !!  "})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_parameter")


async def test_search_finds_a_draft_only_once_it_is_published(demo_council: Demo) -> None:
    demo = demo_council
    document = {"id": "r", "document": "pr-130", "number": "ПР-130", "title": "Про облаштування скверу Героїв"}
    document |= {"initiator": "І", "rapporteur": "Р", "text": "Висадити каштани вздовж алеї."}
    await _draft(demo, document, publish=False)
    for path in ("/api/v1/search", "/search"):  # the API answers anyone, as the portal's page does
        for query in ("сквер", "каштани", "ПР-130"):
            response = await demo.client.get(path, params={"q": query})
            assert response.status_code == 200, (path, query)
            assert "pr-130" not in response.text and "скверу" not in response.text, (path, query)
    headers = await demo.headers("secretary")
    command = {"id": "p", "type": "document.publish_draft", "date": "2026-11-02"}
    published = await demo.client.post("/api/v1/documents/pr-130/commands", json=command, headers=headers)
    assert published.status_code == 200, published.text
    found = (await demo.client.get("/api/v1/search", params={"q": "сквер"})).json()["documents"]
    assert [(d["id"], d["status"]) for d in found] == [("pr-130", "published_draft")]
    page = (await demo.client.get("/search", params={"q": "каштани"})).text
    assert '<a href="/decisions/pr-130">Проєкт ПР-130: Про облаштування скверу Героїв</a>' in page


def test_queries_are_made_safe() -> None:
    assert words("Бюджет участі!") == ["бюджет", "участі"]
    assert words("a & b | !c :*") == ["a", "b", "c"]
    assert words("'; DROP TABLE documents; --") == ["drop", "table", "documents"]
    assert words("пам’ять") == ["память"]
    assert words("   ") == []


@needs_dictionary
async def test_search_finds_inflected_ukrainian_words(demo_council: Demo) -> None:
    demo = demo_council
    # «Про внесення змін до міського бюджету на 2026 рік» is item 2: other forms of its words find it
    for query in ("зміни бюджету", "зміна бюджет", "змінами міських бюджетів", "внесенню змін"):
        body = await _search(demo, query, want_items=1)
        assert [i["item"] for i in body["items"]] == ["i2"], query
    assert sorted(i["item"] for i in (await _search(demo, "бюджети", want_items=2))["items"]) == ["i2", "i3"]
    # a form's dictionary word, not any word it begins: «мосту» (міст) is not «міста» (місто)
    assert [i["item"] for i in (await _search(demo, "мосту", want_items=1))["items"]] == ["i5"]
    assert [i["item"] for i in (await _search(demo, "мости", want_items=1))["items"]] == ["i5"]
    assert (await demo.client.get("/api/v1/search", params={"q": "зміни мосту"})).json()["items"] == []

    document = {"id": "r", "document": "pr-120", "number": "ПР-120", "title": "Про зміни до програми розвитку освіти"}
    document |= {"initiator": "І", "rapporteur": "Р", "text": "Збільшити видатки на шкільні автобуси."}
    await _draft(demo, document)
    for query in ("програма освіта", "змін програм", "шкільний автобус", "видатків"):
        found = (await demo.client.get("/api/v1/search", params={"q": query})).json()
        assert [d["id"] for d in found["documents"]] == ["pr-120"], query
    # an edited title is searched from its new words, not the ones it had when first searched
    await demo.ok("secretary", "item.update", item="i4", title="Про оренду приміщень комунальної власності")
    for _ in range(200):
        items = (await demo.client.get("/api/v1/search", params={"q": "приміщення"})).json()["items"]
        if items:
            break
        await asyncio.sleep(0.025)
    assert [i["item"] for i in items] == ["i4"]
    assert (await demo.client.get("/api/v1/search", params={"q": "землеустрою"})).json()["items"] == []


@needs_dictionary
async def test_the_embedded_postgresql_finds_inflected_words_too(tmp_path: Any) -> None:
    import asyncpg

    from portal_bridge.search import find
    from session_server.extensions import migrations
    from session_server.store.database import embedded_postgres
    from session_server.store.schema import migrate

    tmp_path.chmod(0o755)
    with embedded_postgres(tmp_path) as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await migrate(conn, migrations())
            title = "Про внесення змін до міського бюджету на 2026 рік"
            await pool.execute("INSERT INTO agenda_items VALUES ('s', 'i2', '2', $1, 'ПР-102')", title)
            found = await find(pool, ["зміни", "бюджету"])
            assert [i["title"] for i in found.items] == [title]
            assert "'зміна'" in found.query  # the dictionary's form, not just the word as typed
            assert (await find(pool, ["бюдж"])).items != []
        finally:
            await pool.close()


def test_the_dictionary_is_linked_into_a_servers_share_folder_as_postgresql_names_it(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from session_server.store.dictionaries import link_ukrainian

    share, hunspell = tmp_path / "share", tmp_path / "hunspell"
    (share / "tsearch_data").mkdir(parents=True)
    hunspell.mkdir()
    caplog.set_level(logging.INFO, logger="session_server.store.dictionaries")  # a notice, not a warning
    assert link_ukrainian(share, (hunspell,)) is False  # no hunspell-uk: said once, search by prefixes
    assert "apt-get install hunspell-uk" in caplog.text
    (hunspell / "uk_UA.dic").write_text("1\nбюджет/V\n", encoding="utf-8")
    (hunspell / "uk_UA.aff").write_text("SET UTF-8\n", encoding="utf-8")
    assert link_ukrainian(share, (hunspell,)) is True
    assert (share / "tsearch_data" / "uk_ua.dict").resolve() == (hunspell / "uk_UA.dic").resolve()
    assert (share / "tsearch_data" / "uk_ua.affix").read_text(encoding="utf-8") == "SET UTF-8\n"
    assert link_ukrainian(share, (hunspell,)) is True  # again: nothing to change
