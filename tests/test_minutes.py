"""The session's minutes (протокол), generated from its log and served as HTML without JavaScript: fit for
the chair and the secretary to sign — the header once, items numbered once, the date in words, the counts
the screens show, roll calls by faction in the council's order with the mayor apart, lines agreeing with
each member's recorded gender, and every key event named by its ledger entry («запис журналу № N», N = seq).

``hold_sitting`` (tests/minutes_support.py) runs one whole sitting of the demo council; tests/test_minutes_print.py
prints its minutes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from conftest import Demo
from minutes_support import FACTION_ORDER, KYIV, SESSION, hold_sitting

from portal_bridge.ukrainian import composition_line, long_date, plural, registration_line, roll_call_line

VOTES_COUNTED = ("v1", "v2", "v4", "v5", "v6")


def text_of(html: str) -> str:
    """The page's body as a reader sees it: tags dropped, entities of the template undone, spaces folded."""
    body = html.split("<body>", 1)[1]
    plain = re.sub(r"<[^>]+>", " ", body).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    plain = plain.replace("\u00a0", " ")  # a no-break space reads as a space; U+202F in dates stays
    return re.sub(r"[ \t\r\n]+", " ", plain).replace(" .", ".").replace(" ,", ",").strip()


def vote_blocks(html: str) -> dict[str, str]:
    """Each vote's part of the page by vote id («голосування 1» is v1), as HTML."""
    parts = html.split('<div class="vote">')[1:]
    blocks = {}
    for part in parts:
        number = re.search(r"голосування (\d+)\)", part)
        assert number is not None
        blocks[f"v{number.group(1)}"] = part.split('<section class="item"')[0].split('<section class="signatures"')[0]
    return blocks


def groups_of(block: str) -> list[tuple[str, list[str]]]:
    """A vote's roll call as printed: (group title, [«Ім'я Прізвище — line», …]) in order."""
    found = re.findall(r"<h4>(.*?)</h4>\s*<ul>(.*?)</ul>", block, re.S)
    return [(title, re.findall(r"<li>(.*?)</li>", items)) for title, items in found]


async def minutes_of(demo: Demo) -> str:
    response = await demo.client.get(f"/sessions/{SESSION}/minutes")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text


async def test_the_minutes_state_the_header_once_the_date_in_words_and_each_item_numbered_once(
    demo_council: Demo,
) -> None:
    sitting = await hold_sitting(demo_council)
    html = await minutes_of(demo_council)
    text = text_of(html)
    assert text.startswith("Вознесенська міська рада ПРОТОКОЛ пленарного засідання 45 сесії VIII скликання")
    for once in ("Вознесенська міська рада", "ПРОТОКОЛ", "сесі", "скликання", "VIII"):
        assert text.count(once) == 1, once
    day = sitting.state["date"]
    assert long_date(day) in text and day not in text  # «2 грудня 2026 р.», never 2026-12-02
    opened, closed = sitting.seq("session.opened"), sitting.seq("session.closed")
    assert f"Засідання відкрито: {sitting.time(opened)} (запис журналу № {opened})." in text
    assert f"Засідання закрито: {sitting.time(closed)} (запис журналу № {closed})." in text
    agenda = re.search(r'<ul class="agenda-list">(.*?)</ul>', html, re.S)
    assert agenda is not None
    listed = [text_of("<body>" + li) for li in re.findall(r"<li>(.*?)</li>", agenda.group(1), re.S)]
    assert len(listed) == len(sitting.state["agenda"]) == 6
    for item, line in zip(sitting.state["agenda"], listed, strict=True):
        assert line.startswith(f"{item['number']}. {item['title']}")  # its own number, once
        assert text.count(f"{item['number']}. СЛУХАЛИ: {item['title']}") == 1  # its own part
    assert not re.search(r"\b(\d+)\.\s+\1\.", text)  # never «1. 1.»
    assert "протокол неповний" not in text  # the session is closed
    assert "<script" not in html
    # The signature lines close the document.
    assert text.index("Міський голова Михайло Степаненко Секретар ради") > text.index("голосування 6")


async def test_attendance_in_the_minutes_is_what_the_screens_showed_when_registration_closed(
    demo_council: Demo,
) -> None:
    sitting = await hold_sitting(demo_council)
    text = text_of(await minutes_of(demo_council))
    closed = min(e["seq"] for e in sitting.events if e["type"] == "registration.closed")  # the first of two
    assert f"Реєстрацію завершено: {sitting.time(closed)} (запис журналу № {closed})." in text
    assert sitting.at_registration["registered_deputies"] == 20 and not sitting.at_registration["mayor_taking_part"]
    assert f"{registration_line(sitting.at_registration)}. Засідання правомочне." in text
    roster = [d for d in sitting.council.deputies.values() if not d.mayor]
    present = ", ".join(d.name for d in roster[:20])  # deputy01…deputy20, in the council's roster order
    absent = ", ".join(d.name for d in roster[20:])
    assert f"Зареєстровані (20 депутатів): {present}." in text
    assert f"Відсутні (14 депутатів): {absent}." in text
    assert "Міський голова Михайло Степаненко — відсутній." in text  # the mayor apart, not a deputy
    assert "Зареєструвалися пізніше: Михайло Степаненко (міський голова), Ганна Сидоренко." in text
    assert "Залишили засідання: Петро Онищенко." in text


async def test_each_vote_states_its_threshold_numbers_outcome_and_the_composition_it_was_counted_from(
    demo_council: Demo,
) -> None:
    sitting = await hold_sitting(demo_council)
    blocks = vote_blocks(await minutes_of(demo_council))
    v1, v2, v4 = (text_of("<body>" + blocks[v]) for v in ("v1", "v2", "v4"))
    assert sitting.counted_from["v1"]["total"] == 34 and sitting.counted_from["v2"]["total"] == 35
    for vote, text in (("v1", v1), ("v2", v2), ("v4", v4)):
        assert composition_line(sitting.counted_from[vote]) in text  # as the screens showed it
    assert "ГОЛОСУВАЛИ (голосування 1): «за основу»" in v1
    assert "Рішення приймається більшістю голосів від складу ради; потрібно 18 голосів «за»." in v1
    assert "За — 15, проти — 1, утрималися — 2, не голосували — 2, відсутні — 14." in v1
    seq = sitting.seq("vote.closed", vote="v1")
    assert f"ВИРІШИЛИ: рішення не прийнято ({sitting.time(seq)}, запис журналу № {seq})." in v1
    assert "За — 18, проти — 1, утрималися — 1, не голосували — 2, відсутні — 13." in v2
    seq = sitting.seq("vote.closed", vote="v2")
    assert f"ВИРІШИЛИ: рішення прийнято ({sitting.time(seq)}, запис журналу № {seq})." in v2
    assert (
        "Рішення приймається більшістю голосів від зареєстрованих (зареєстровано 21 депутат і міський голова);"
        " потрібно 12 голосів «за»." in v4
    )  # d01…d21 and the mayor: deputy20 leaves only after v4
    cancelled = text_of("<body>" + blocks["v3"])
    seq = sitting.seq("vote.cancelled", vote="v3")
    assert f"Голосування скасовано: Збій табло в залі ({sitting.time(seq)}, запис журналу № {seq})." in cancelled
    assert "За —" not in cancelled and "<h4>" not in blocks["v3"]


async def test_a_proposal_to_add_an_item_is_recorded_with_its_vote_and_the_item_joins_only_when_adopted(
    demo_council: Demo,
) -> None:
    sitting = await hold_sitting(demo_council)
    html = await minutes_of(demo_council)
    text = text_of(html)
    section = html.split('aria-labelledby="agenda-changes">', 1)[1].split('<section class="item"', 1)[0]
    changes = text_of("<body>" + section)
    assert changes.startswith("Зміни до порядку денного ГОЛОСУВАЛИ (голосування 5)")
    proposal = (
        "Пропозиція: включити до порядку денного питання "
        "«6. Про перейменування вулиці Садової (проєкт рішення ПР-106)»."
    )
    assert changes.count(proposal) == 2
    rejected, adopted = sitting.seq("vote.closed", vote="v5"), sitting.seq("vote.closed", vote="v6")
    assert (
        f"ВИРІШИЛИ: питання не включено до порядку денного ({sitting.time(rejected)}, запис журналу № {rejected})."
        in changes
    )
    assert (
        f"ВИРІШИЛИ: питання включено до порядку денного ({sitting.time(adopted)}, запис журналу № {adopted})."
        in changes
    )
    assert "За — 5, проти — 0, утрималися — 0, не голосували — 17, відсутні — 13." in changes
    assert (
        "6. Про перейменування вулиці Садової (проєкт рішення ПР-106) — включено під час засідання (голосування 6)"
        in text
    )
    # Both proposals were given the id the item got; its own part holds neither vote.
    own = html.split("6.</span> СЛУХАЛИ:", 1)[1].split('<section class="signatures"', 1)[0]
    assert "Питання не розглядалося." in text_of("<body>" + own) and "ГОЛОСУВАЛИ" not in own


async def test_roll_calls_follow_the_councils_faction_order_with_the_mayor_apart_and_add_up_to_the_composition(
    demo_council: Demo,
) -> None:
    sitting = await hold_sitting(demo_council)
    blocks = vote_blocks(await minutes_of(demo_council))
    assert sitting.council.factions == FACTION_ORDER
    for vote in VOTES_COUNTED:
        groups = groups_of(blocks[vote])
        titles = [title for title, _ in groups]
        mayor_taking_part = sitting.counted_from[vote]["mayor_taking_part"]
        assert titles == [*FACTION_ORDER, "Позафракційні депутати"] + (["Міський голова"] if mayor_taking_part else [])
        lines = [line for _, members in groups for line in members]
        total = sitting.counted_from[vote]["total"]
        assert len(lines) == total  # counting 2: no line for a mayor not taking part
        numbers = re.search(
            r"За — (\d+), проти — (\d+), утрималися — (\d+), не голосували — (\d+), відсутні — (\d+)", blocks[vote]
        )
        assert numbers is not None and sum(map(int, numbers.groups())) == total
        for title, members in groups:  # each member under their own faction, and only there
            for line in members:
                name = line.split(" — ")[0]
                deputy = next(d for d in sitting.council.deputies.values() if d.name == name)
                expected = "Міський голова" if deputy.mayor else deputy.faction or "Позафракційні депутати"
                assert title == expected, (vote, line)
    assert groups_of(blocks["v2"])[-1] == ("Міський голова", ["Михайло Степаненко — за"])
    assert "Михайло Степаненко" not in blocks["v1"]


async def test_every_roll_call_line_agrees_with_the_members_recorded_gender(demo_council: Demo) -> None:
    sitting = await hold_sitting(demo_council)
    blocks = vote_blocks(await minutes_of(demo_council))
    votes = {v["id"]: v for v in sitting.state["votes"]}
    genders = {d.gender for d in sitting.council.deputies.values()}
    assert genders == {"female", "male"}  # the demo records every member's gender
    for vote in VOTES_COUNTED:
        printed = [line for _, members in groups_of(blocks[vote]) for line in members]
        expected = [
            f"{sitting.council.deputies[m].name} — {roll_call_line(line, sitting.council.deputies[m].gender)}"
            for m, line in votes[vote]["roll_call"].items()
        ]
        assert sorted(printed) == sorted(expected)
    v1 = blocks["v1"]
    for line in (
        "Ганна Сидоренко — відсутня",
        "Юрій Гаврилюк — відсутній",
        "Марія Білик — утрималася",
        "Микола Харченко — утримався",
        "Наталія Кравець — не голосувала",
        "Петро Онищенко — не голосував",
        "Ірина Мельник — за",
    ):
        assert f"<li>{line}</li>" in v1, line


async def test_speeches_and_a_conflict_of_interest_are_recorded_with_their_ledger_entries(demo_council: Demo) -> None:
    sitting = await hold_sitting(demo_council)
    text = text_of(await minutes_of(demo_council))
    assert "ВИСТУПИЛИ: Ірина Мельник, Василь Руденко." in text  # d03 and d12, in the order they spoke
    seq = sitting.seq("conflict.declared", deputy="d05")
    assert (
        "Заява про конфлікт інтересів (ст. 59-1 Закону України «Про місцеве самоврядування в Україні»): "
        f"Наталія Кравець — «Син — засновник підрядника» ({sitting.time(seq)}, запис журналу № {seq})." in text
    )
    # Every ledger entry the minutes name is a key event of this sitting, by its seq (never 0-based).
    cited = {int(n) for n in re.findall(r"запис журналу № (\d+)", text)}
    key = {"session.opened", "session.closed", "conflict.declared", "vote.closed", "vote.cancelled"}
    expected = {e["seq"] for e in sitting.events if e["type"] in key}
    expected.add(min(e["seq"] for e in sitting.events if e["type"] == "registration.closed"))
    assert cited == expected
    assert "Питання не розглядалося" in text  # items 3–5


async def test_every_number_in_the_minutes_agrees_with_its_noun(demo_council: Demo) -> None:
    await hold_sitting(demo_council)
    text = text_of(await minutes_of(demo_council))
    forms = {"депутат": ("депутат", "депутати", "депутатів"), "голос": ("голос", "голоси", "голосів")}
    found = re.findall(r"\b(\d+) (депутат(?:и|ів)?|голос(?:и|ів)?)\b", text)
    assert len(found) >= 10
    for number, noun in found:
        stem = "депутат" if noun.startswith("депутат") else "голос"
        assert noun == plural(int(number), *forms[stem]), f"{number} {noun}"
    assert "34 депутати за законом" in text and "невірн" not in text


async def test_the_minutes_of_a_session_still_in_progress_say_so_and_an_unknown_session_is_not_found(
    demo_council: Demo,
) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 19)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=600)
    response = await demo.client.get(f"/sessions/{SESSION}/minutes")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    text = text_of(response.text)
    assert "Засідання ще не закрито: протокол неповний." in text
    opened = next(
        e
        for e in (await demo.client.get(f"/api/v1/sessions/{SESSION}/events")).json()["events"]
        if e["type"] == "vote.opened"
    )
    # Registration never closed: the figures are those the first vote was opened with, and say so.
    assert f"на час його відкриття: {dt.datetime.fromisoformat(opened['at']).astimezone(KYIV):%H:%M} " in text
    assert "Зареєстровано 18 депутатів з 34; для кворуму потрібно 18" in text
    assert "Голосування триває." in text and "Розгляд питання не завершено." in text

    missing = await demo.client.get("/sessions/nope/minutes")
    assert missing.status_code == 404 and "ПРОТОКОЛ" not in missing.text


async def test_the_minutes_of_a_sitting_not_yet_held_say_so_and_no_portal_page_links_them(demo_council: Demo) -> None:
    demo = demo_council
    response = await demo.client.get(f"/sessions/{SESSION}/minutes")
    assert response.status_code == 200 and 'href="/static/minutes.css"' in response.text
    text = text_of(response.text)
    day = long_date((await demo.state())["state"]["date"])
    assert text.startswith("Вознесенська міська рада ПРОТОКОЛУ ЩЕ НЕМАЄ пленарного засідання 45 сесії VIII скликання")
    assert (
        f"Пленарне засідання 45 сесії VIII скликання, призначене на {day}, ще не відбулося, тож протоколу ще немає."
        in text
    )
    # nobody is absent from a sitting that has not begun, and there is no quorum to lack
    for wrong in ("Кворуму немає", "неправомочне", "Відсутні", "відсутній", "Зареєстровано", "СЛУХАЛИ", "Підписи"):
        assert wrong not in text, wrong
    assert "<title>Протоколу ще немає — 45 сесія Вознесенської міської ради VIII скликання</title>" in response.text
    for path in ("/", "/sessions", f"/sessions/{SESSION}"):  # no page sends a resident to minutes not yet made
        assert "/minutes" not in (await demo.client.get(path)).text, path

    await demo.ok("chair", "session.open")  # once it is held, the minutes are kept from its log, and linked
    session = await demo.client.get(f"/sessions/{SESSION}")
    assert f'<a href="/sessions/{SESSION}/minutes">протокол</a>' in session.text
    text = text_of(await minutes_of(demo))
    assert "ПРОТОКОЛ пленарного засідання" in text and "Засідання ще не закрито: протокол неповний." in text


async def test_the_minutes_name_each_vote_s_kind_and_decide_in_its_words_a_re_vote_naming_the_vote_it_repeats(
    demo_council: Demo,
) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    deputies = [f"deputy{n:02d}" for n in range(1, 21)]
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in deputies))
    await demo.ok("chair", "item.start", item="i1")
    for number, (kind, voters, extra) in enumerate(
        [
            ("basis", 18, {}),
            ("whole", 12, {}),
            ("procedural", 15, {"purpose": "revote", "revote": "v2"}),
            ("whole", 19, {}),
        ],
        start=1,
    ):
        await demo.ok("chair", "vote.open", item="i1", subject=f"голосування {number}", seconds=60, kind=kind, **extra)
        await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=f"v{number}", choice="for") for u in deputies[:voters]))
        await demo.ok("chair", "vote.close", vote=f"v{number}")
    blocks = {vote: text_of("<body>" + block) for vote, block in vote_blocks(await minutes_of(demo)).items()}
    assert "Голосується проєкт рішення за основу." in blocks["v1"]
    assert "ВИРІШИЛИ: проєкт рішення прийнято за основу (" in blocks["v1"]
    assert "Голосується проєкт рішення в цілому з урахуванням пропозицій." in blocks["v2"]
    assert "ВИРІШИЛИ: рішення не прийнято (" in blocks["v2"]
    assert "Голосується процедурне питання: переголосування голосування 2." in blocks["v3"]
    assert "Рішення приймається більшістю голосів від зареєстрованих (зареєстровано 20 депутатів)" in blocks["v3"]
    assert "ВИРІШИЛИ: переголосувати голосування 2 (" in blocks["v3"]
    assert "ВИРІШИЛИ: рішення прийнято в цілому (" in blocks["v4"]
