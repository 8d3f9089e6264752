"""The residents' portal: server-rendered pages for a seeded session and a signed decision."""

from __future__ import annotations

import re

from conftest import Demo
from test_feeds import _published_decision
from test_opendata import _json, _session_with_two_votes


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_portal_pages_show_sessions_votes_a_signed_decision_and_a_deputy(demo_council: Demo) -> None:
    demo = demo_council
    await _session_with_two_votes(demo)
    await _json(demo, "/opendata/ua835/votings.json")  # the read models are written
    await _published_decision(demo)

    home = await demo.client.get("/")
    assert home.status_code == 200 and "<script" not in home.text
    assert "script-src 'self'" in home.headers["content-security-policy"]
    text = _text(home.text)
    assert "Засідання наживо" in text and "45 сесія Вознесенської міської ради VIII скликання" in text
    assert "Рішення № 77-VIII: Про бюджет участі" in text

    session = _text((await demo.client.get("/sessions/c8-s45")).text)
    assert "Голосування «в цілому»: прийнято" in session
    assert "За — 18, проти — 1, утрималися — 0, не голосували — 1, відсутні — 14 (потрібно 18)" in session
    assert "Олена Бондар за" in session and "kvorum verify" in session

    decision_html = (await demo.client.get("/decisions/pr-101")).text
    decision = _text(decision_html)
    assert "Рішення № 77-VIII: Про бюджет участі" in decision
    assert "✓ Підпис перевірено" in decision
    assert (
        "рішення прийнято" in decision and "підписано міським головою" in decision and "рішення оприлюднено" in decision
    )
    assert (
        'href="/sessions/c8-s45"' in decision_html and 'href="/api/v1/sessions/c8-s45/ledger/export"' in decision_html
    )
    assert "kvorum verify" in decision

    deputy = _text((await demo.client.get("/deputies/d19")).text)
    assert "Фракція: Розвиток" in deputy
    assert "Присутність: зареєструвався(лася) на 1 з 1 засідань" in deputy
    assert "Проти" in deputy  # d19 voted against in v1

    found = _text((await demo.client.get("/search", params={"q": "бюджет участі"})).text)
    assert "ПР-101: Про бюджет участі" in found
    missing = await demo.client.get("/deputies/nobody")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (await demo.client.get("/decisions/nope")).status_code == 404
