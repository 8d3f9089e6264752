"""Every page a person reads speaks correct Ukrainian, for a council with deputies of both genders.

A sitting in which women and men abstain, do not vote and are absent is rendered on every portal
page, in the minutes and on the screens; their text is then checked: numbers agree with their nouns
by CLDR's rules, roll-call lines agree with each member's recorded gender (no «(-лася)» where the
gender is known), dates are in words, «неправильне» rather than «невірне».
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from browser_support import Browser, sign_in
from conftest import Demo

from portal_bridge.ukrainian import plural

WAIT_MS = 20_000
NOUNS = {  # the forms by CLDR category: one, few, many
    "депутат": ("депутат", "депутати", "депутатів"),
    "засідан": ("засідання", "засідання", "засідань"),
    "голос": ("голос", "голоси", "голосів"),
}
PAGES = [
    "/",
    "/sessions",
    "/sessions/c8-s45",
    "/sessions/c8-s45/minutes",
    "/deputies",
    "/deputies/d03",  # Ірина Мельник: abstained
    "/deputies/d04",  # Сергій Шевчук: abstained
    "/deputies/d30",  # Тарас Литвиненко: absent
    "/deputies/d31",  # Вікторія Зінченко: absent
    "/decisions",
    "/search?q=зміни+бюджету",
]


def _text(html: str) -> str:
    html = re.sub(r"<(script|style|code|pre)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def problems(text: str) -> list[str]:
    """What is not correct Ukrainian in a page's text."""
    found = []
    for number, word in re.findall(r"\b(\d+)\s+(депутат\w*|засідан\w*|голос\w*)", text):
        stem = next(s for s in NOUNS if word.startswith(s))
        one, few, many = NOUNS[stem]
        if word in (one, few, many) and word != plural(int(number), one, few, many):
            found.append(f"«{number} {word}»")
    for wrong in ("невірн", "(-лася)", "(лася)", "(-ла)", "(-я)"):
        if wrong in text:
            found.append(f"«{wrong}» (every member's gender is recorded)")
    found += [f"ISO date {d}" for d in re.findall(r"\b20\d\d-\d\d-\d\d\b", text)]
    return found


@pytest.fixture
async def sitting(demo_council: Demo) -> Demo:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 22)))
    await demo.ok("secretary", "registration.close")
    await demo.ok("chair", "item.start", item="i2")
    await demo.ok("chair", "vote.open", item="i2", subject="в цілому", rule="majority_of_composition", seconds=60)
    for n in range(1, 19):
        choice = "abstain" if n in (3, 4) else "against" if n == 5 else "for"
        await demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice=choice)
    await demo.ok("chair", "vote.close", vote="v1")
    await demo.ok("chair", "item.finish", item="i2")
    return demo


async def test_every_portal_page_and_the_minutes_speak_correct_ukrainian(sitting: Demo) -> None:
    texts = {}
    for path in PAGES:
        response = await sitting.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        texts[path] = _text(response.text)
        assert problems(texts[path]) == [], path
    assert "утрималася" in texts["/deputies/d03"] and "утримався" in texts["/deputies/d04"]
    assert "відсутній" in texts["/deputies/d30"] and "відсутня" in texts["/deputies/d31"]
    minutes = texts["/sessions/c8-s45/minutes"]
    assert "Ірина Мельник — утрималася" in minutes and "Сергій Шевчук — утримався" in minutes
    assert re.search(
        r"\b\d{1,2} (січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня) 20\d\d",
        minutes,
    )
    assert "Зареєстровано 21 депутат з 34" in minutes  # 21: «депутат», not «депутатів»


async def test_the_screens_speak_correct_ukrainian_too(browser: Browser, sitting: Demo) -> None:
    base = sitting.server.url
    contexts: list[Any] = []
    try:
        for path, ready in (
            ("/display/c8-s45", "#registration"),
            ("/live/c8-s45", "#roll-body tr"),
        ):
            context = await browser.new_context(viewport={"width": 1440, "height": 900})
            contexts.append(context)
            page = await context.new_page()
            await page.goto(base + path)
            await page.wait_for_selector(ready, timeout=WAIT_MS)
            await page.wait_for_selector("#connection[data-status=open]", timeout=WAIT_MS)
            text = await page.inner_text("body")
            assert problems(text) == [], path
        live = contexts[1].pages[0]
        # the signed-in screens too: a deputy's tablet (of both genders), the console, the broadcast, /sign
        for path, who, ready in (
            ("/tablet", "deputy03", "#presence-title:has-text('Засідання')"),
            ("/tablet", "deputy04", "#presence-title:has-text('Засідання')"),
            ("/console", "chair", "#agenda li[data-item=i2][data-status=done]"),
            ("/broadcast", "operator", "#desk:not([hidden])"),
            ("/sign", "chair", "#desk:not([hidden])"),
        ):
            context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="uk-UA")
            contexts.append(context)
            page = await context.new_page()
            await page.goto(base + path)
            await sign_in(page, who, ready)  # ready: rendered from the sitting, not only signed in
            text = await page.inner_text("body")
            assert problems(text) == [], (path, who)
            if path == "/tablet":  # the abstain button in the deputy's own grammatical gender
                label = await page.text_content(".choice[data-choice=abstain]")
                assert label == {"deputy03": "Утрималася", "deputy04": "Утримався"}[who], (who, label)
        await live.wait_for_selector("#roll-body tr[data-member=d03] td.choice", timeout=WAIT_MS)
        assert await live.text_content("#roll-body tr[data-member=d03] td.choice") == "утрималася"
        assert await live.text_content("#roll-body tr[data-member=d04] td.choice") == "утримався"
        assert await live.text_content("#roll-body tr[data-member=d31] td.choice") == "відсутня"
    finally:
        for context in contexts:
            await context.close()


def test_the_checker_finds_what_it_should() -> None:
    # so that the tests above cannot pass by finding nothing
    assert problems("34 депутатів") == ["«34 депутатів»"]
    assert problems("21 депутат, 22 депутати, 25 депутатів, 1 засідання, 5 засідань") == []
    assert problems("невірне ім'я") and problems("утримався(-лася)") and problems("2026-12-02")
