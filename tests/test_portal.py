"""The residents' portal: server-rendered pages for a seeded session and a signed decision, in correct
Ukrainian (numbers agreeing with nouns, dates in words, roll-call lines by gender, factions in the
council's order with the mayor apart, one composition stated as the screens state it)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from conftest import Demo, RunningServer
from feeds_support import _post, _published_decision
from opendata_support import _json, _session_with_two_votes

from portal_bridge.ukrainian import long_date

WEB = Path(__file__).resolve().parent.parent / "web"


def _text(html: str) -> str:
    # ASCII white space only: dates keep their narrow no-break space («2026\u202fр.»)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").replace(" ,", ",")


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
    assert f"45 сесія Вознесенської міської ради VIII скликання, {long_date(date.today())}" in text
    assert "Рішення № 77-VIII: Про бюджет участі" in text
    assert "Склад ради за законом — 34 депутати; міський голова — Михайло Степаненко" in text
    assert "Усі засідання ради (1 пленарне засідання)" in text and "Усі рішення і проєкти (1 документ)" in text

    session = _text((await demo.client.get("/sessions/c8-s45")).text)
    assert "Голосування «в цілому»: прийнято" in session
    assert "За — 18, проти — 1, утрималися — 0, не голосували — 1, відсутні — 14; разом — 34." in session
    assert "Потрібно — 18 (більшість від складу ради)" in session
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
    assert "Ганна Сидоренко відсутня" in decision and "Олег Гончаренко за" in decision  # each member's own form
    kyiv_today = datetime.now(ZoneInfo("Europe/Kyiv")).date()  # the history's times are Kyiv's
    assert re.search(rf"{long_date(kyiv_today)}, \d\d:\d\d — проєкт зареєстровано", decision)  # dates in words

    deputy = _text((await demo.client.get("/deputies/d19")).text)
    assert "Фракція «Розвиток»" in deputy
    assert "Присутність на пленарних засіданнях ради (реєстрація): 1 з 1" in deputy
    assert "проти" in deputy  # d19 (Марія Білик) voted against in v1
    assert f"{long_date(date.today())}" in deputy  # the votes' dates in words

    found = _text((await demo.client.get("/search", params={"q": "бюджет участі"})).text)
    assert "Рішення № 77-VIII: Про бюджет участі" in found


async def test_the_session_page_states_the_composition_as_the_screens_do(demo_council: Demo) -> None:
    demo = demo_council
    await _session_with_two_votes(demo)
    session = _text((await demo.client.get("/sessions/c8-s45")).text)
    # the session's public composition, in the sentences every screen and the minutes use
    assert (
        "Зареєстровано 20 депутатів з 34; для кворуму потрібно 18 (ст. 46 Закону України "
        "«Про місцеве самоврядування в Україні»)." in session
    )
    assert "Склад ради для підрахунку голосів — 34 депутати за законом; міський голова в засіданні участі не бере" in (
        session
    )
    # each tally's lines add up to the composition it was counted from: no line for a mayor not taking part
    assert "Міський голова" not in session.split("Порядок денний")[1].split("Перевірити результати")[0]

    # the mayor registers: the composition is 35, the mayor's line stands apart, after the factions
    await demo.ok("chair", "presence.register")
    await demo.ok("chair", "vote.open", item="i2", subject="в цілому", rule="majority_of_composition", seconds=60)
    await demo.ok("chair", "ballot.cast", vote="v3", choice="for")
    await demo.ok("chair", "vote.close", vote="v3")
    session = _text((await demo.client.get("/sessions/c8-s45")).text)
    assert "Зареєстровано 20 депутатів з 34 і міський голова; для кворуму потрібно 18" in session
    assert (
        "Склад ради для підрахунку голосів — 35: 34 депутати за законом і міський голова, який бере участь"
        in (session.split("Порядок денний")[0])
    )
    first, third = session.split("Голосування «в цілому»")[1:]
    assert "За — 1, проти — 0, утрималися — 0, не голосували — 20, відсутні — 14; разом — 35." in third
    assert "Склад ради для підрахунку голосів" not in third  # as the sitting's now: stated once, above
    # the earlier votes were counted without the mayor: each says so by itself
    assert "разом — 34. Потрібно — 18 (більшість від складу ради). Склад ради для підрахунку голосів — 34 депутати" in (
        first
    )
    assert third.index("Позафракційні") < third.index("Міський голова Михайло Степаненко за")


async def test_roll_call_lines_agree_with_each_members_gender_and_factions_keep_the_councils_order(
    demo_council: Demo,
) -> None:
    demo = demo_council
    order = ["Народний контроль", "Рідне місто", "Громада", "Розвиток"]
    await _post(demo, "admin", "/council/commands", {"id": "f", "type": "council.configure", "factions": order})
    await _session_with_two_votes(demo)
    session = _text((await demo.client.get("/sessions/c8-s45")).text)
    second = session.split("Голосування «за основу»")[1]
    assert "Олена Бондар утрималася" in second  # d01, female
    assert "Андрій Ковальчук не голосував" in second  # d02, male, registered
    assert "Ганна Сидоренко відсутня" in second and "Юрій Гаврилюк відсутній" in second  # d21, d22
    assert "утримався(-лася)" not in session and "відсутній(-я)" not in session  # every gender is recorded
    positions = [second.index(name) for name in order] + [second.index("Позафракційні")]
    assert positions == sorted(positions)

    deputies = _text((await demo.client.get("/deputies")).text)
    assert "Фракція «Народний контроль» — 4 депутати" in deputies and "Фракція «Громада» — 10 депутатів" in deputies
    assert "Позафракційні депутати — 3 депутати" in deputies
    positions = [deputies.index(f"Фракція «{name}»") for name in order] + [deputies.index("Позафракційні")]
    assert positions == sorted(positions)
    assert deputies.index("Міський голова Михайло Степаненко") < positions[0]  # apart, not a faction

    await _json(demo, "/opendata/ua835/votings.json")  # the consumer has written both votes
    record = _text((await demo.client.get("/deputies/d01")).text)
    assert "утрималася" in record and "утримався" not in record


async def test_the_index_pages_list_everything_a_page_at_a_time(demo_council: Demo) -> None:
    demo = demo_council
    for n in range(1, 25):  # 24 more sittings: 25 in all, two pages of 20
        body = {"id": f"s{n}", "type": "session.schedule", "number": n, "convocation": 8}
        body |= {"date": f"2025-{(n - 1) // 28 + 1:02d}-{(n - 1) % 28 + 1:02d}", "title": f"{n} сесія"}
        response = await demo.client.post("/api/v1/sessions", json=body, headers=await demo.headers("secretary"))
        assert response.status_code in (200, 201), response.text

    first = (await demo.client.get("/sessions")).text
    assert "Усього 25 пленарних засідань; показано з 1 по 20" in _text(first)
    assert first.count('href="/sessions/c8-s') == 20 and 'href="/sessions/c8-s45"' in first  # newest first
    assert 'href="/sessions?page=2" rel="next"' in first and 'aria-current="page">1<' in first
    second = (await demo.client.get("/sessions", params={"page": "2"})).text
    assert "показано з 21 по 25" in _text(second) and second.count('href="/sessions/c8-s') == 5
    assert 'href="/sessions/c8-s1"' in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert f"{long_date('2025-01-01')} 1 сесія заплановано" in _text(second)

    for bad in ("0", "3", "-1", "abc", "1.5", "٣", "99999999999999999999"):
        response = await demo.client.get("/sessions", params={"page": bad})
        assert response.status_code == 400, bad
        assert response.headers["content-type"].startswith("text/html")
        assert "Номер сторінки (page) має бути цілим числом від 1 до 2: у переліку 2 сторінки." in _text(response.text)

    deputies = (await demo.client.get("/deputies")).text
    assert "Склад ради за законом — 34 депутати; у раді зараз 34 депутати." in _text(deputies)
    assert deputies.count('href="/deputies/') == 35 and "Сторінка 1 з" not in deputies  # one page: no links
    assert (await demo.client.get("/deputies", params={"page": "2"})).status_code == 400

    empty = (await demo.client.get("/decisions")).text
    assert "Усього 0 документів" in _text(empty) and "Рішень і проєктів ще немає." in empty
    await _published_decision(demo)
    decisions = _text((await demo.client.get("/decisions")).text)
    assert "Усього 1 документ." in decisions
    assert f"Рішення № 77-VIII Про бюджет участі оприлюднено {long_date(date.today())}" in decisions

    home = (await demo.client.get("/")).text
    for path in ("/sessions", "/decisions", "/deputies"):  # the shared navigation and the home page link them
        assert f'href="{path}"' in home
    assert 'href="/" aria-current="page"' in home
    assert 'href="/deputies" aria-current="page"' in deputies


async def test_residents_get_html_error_pages_and_programs_keep_json(demo_council: Demo) -> None:
    client = demo_council.client
    for path, heading in [
        ("/sessions/nope", "Засідання не знайдено"),
        ("/decisions/nope", "Документ не знайдено"),
        ("/deputies/nobody", "Депутата не знайдено"),
        ("/sessions/nope/minutes", "Засідання не знайдено"),
        ("/nope", "Сторінку не знайдено"),
        ("/sessions/c8-s45/nope", "Сторінку не знайдено"),
    ]:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "text/html; charset=utf-8", path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page = _text(response.text)
        assert f"<h1>{heading}</h1>" in response.text and 'href="/static/portal.css"' in response.text, path
        assert 'lang="uk"' in response.text and "На головну сторінку" in page
    assert "Вознесенська міська рада" in (await client.get("/sessions/nope")).text  # the portal's own, with the council

    not_allowed = await client.post("/sessions")
    assert not_allowed.status_code == 405 and "<h1>Так цю сторінку не відкрити</h1>" in not_allowed.text
    assert "GET" in not_allowed.headers["allow"]

    for path in ("/api/v1/sessions/nope", "/api/v1/nope", "/opendata/ua835/motions.xml", "/opendata/nope.json"):
        response = await client.get(path)
        assert response.status_code == 404 and response.headers["content-type"] == "application/json", path
        assert response.json()["error"] in ("session_not_found", "not_found"), path
    search = await client.get("/api/v1/search", params={"q": "!!"})
    assert (search.status_code, search.json()["error"]) == (400, "invalid_parameter")


async def test_every_error_page_names_the_council_and_says_portal_only_before_there_is_one(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    from session_server import demo

    home = '<a class="home" href="/">{}</a>'
    asked = [("GET", "/nope", 404), ("GET", "/sessions/c8-s45/nope", 404), ("POST", "/sessions", 405)]
    for method, path, status in [*asked, ("GET", "/display", 200)]:  # no council yet
        response = await client.request(method, path)
        assert response.status_code == status and home.format("Портал ради") in response.text, path
    await demo.seed(server.kvorum)
    for method, path, status in [*asked, ("GET", "/decisions/nope", 404)]:
        response = await client.request(method, path)
        assert response.status_code == status, path
        assert home.format("Вознесенська міська рада") in response.text, path
        assert "Портал ради" not in response.text, path
        assert int(response.headers["content-length"]) == len(response.content), path  # the name's length counted


async def test_display_and_live_without_a_session_follow_the_open_else_scheduled_else_newest(
    demo_council: Demo,
) -> None:
    demo = demo_council
    client = demo.client
    later = {"id": "later", "type": "session.schedule", "number": 46, "convocation": 8, "date": "2099-01-15"}
    later |= {"title": "46 сесія"}
    response = await client.post("/api/v1/sessions", json=later, headers=await demo.headers("secretary"))
    assert response.status_code in (200, 201), response.text

    async def target(path: str) -> str:
        response = await client.get(path)
        assert response.status_code == 302, (path, response.text)
        return response.headers["location"]

    assert await target("/display") == "/display/c8-s45"  # both scheduled: the nearer one
    assert await target("/live?lang=en") == "/live/c8-s45?lang=en"  # the rest of the query kept
    assert await target("/display?session=c8-s46&lang=en") == "/display/c8-s46?lang=en"
    await demo.ok("chair", "session.open", session="c8-s46")
    assert await target("/display") == "/display/c8-s46"  # the open one first
    assert await target("/live") == "/live/c8-s46"
    await demo.ok("chair", "session.close", session="c8-s46")
    assert await target("/live") == "/live/c8-s45"  # the scheduled one before a closed one
    await demo.ok("chair", "session.open")
    await demo.ok("chair", "session.close")
    assert await target("/display") == "/display/c8-s46"  # none open or scheduled: the newest
    followed = await client.get("/display", follow_redirects=True)
    assert followed.status_code == 200 and 'src="/static/display.js"' in followed.text


async def test_display_and_live_before_any_sitting_say_so_in_ukrainian(client: httpx.AsyncClient) -> None:
    for path in ("/display", "/live", "/live?lang=en"):
        response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>Засідань ще немає</h1>" in response.text
        assert '<meta http-equiv="refresh" content="30">' in response.text  # the projector looks again by itself
        assert "script-src 'self'" in response.headers["content-security-policy"]
    home = await client.get("/")  # no council at all yet
    assert home.status_code == 404 and "<h1>Портал ще не налаштовано</h1>" in home.text


async def test_every_page_names_its_icon_and_favicon_ico_is_served(demo_council: Demo) -> None:
    client = demo_council.client
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = await client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    link = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    for path in ("/", "/sessions", "/decisions", "/deputies", "/sessions/c8-s45", "/deputies/d01", "/search?q=x"):
        assert link in (await client.get(path)).text, path
    assert link in (await client.get("/nope")).text and link in (await client.get("/sessions/nope")).text
    for page in sorted(WEB.glob("*.html")):
        assert link in page.read_text(encoding="utf-8"), page.name


async def test_a_sitting_scheduled_for_a_past_day_does_not_take_over_the_screens(demo_council: Demo) -> None:
    demo = demo_council
    headers = await demo.headers("secretary")
    body = {"id": "old", "number": 47, "convocation": 8, "date": "2020-01-01", "title": "Помилкова дата"}
    assert (await demo.client.post("/api/v1/sessions", json=body, headers=headers)).status_code == 201
    for page in ("/display", "/live"):
        response = await demo.client.get(page, follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"] == f"{page}/c8-s45"  # today's
