"""The session's minutes, generated from its log and served as HTML without JavaScript."""

from __future__ import annotations

import asyncio
import re

from conftest import Demo


async def test_the_minutes_record_attendance_speakers_conflicts_and_each_vote(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("deputy03", "speaker.request")
    await demo.ok("chair", "speaker.grant", deputy="d03", seconds=180)
    await demo.ok("chair", "speaker.finish")
    await demo.ok("deputy05", "conflict.declare", item="i1", reason="Син — засновник підрядника")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    for n in range(1, 19):
        if n != 5:
            await demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for")
    await demo.ok("deputy19", "ballot.cast", vote="v1", choice="against")
    await demo.ok("chair", "vote.close", vote="v1")
    await demo.ok("chair", "item.finish", item="i1")
    await demo.ok("chair", "session.close")

    response = await demo.client.get("/sessions/c8-s45/minutes")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert "<script" not in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "ПРОТОКОЛ" in text and "45 сесія 8 скликання" in text
    assert "Зареєструвалися: 20" in text
    assert "ВИСТУПИЛИ: Ірина Мельник" in text  # d03
    assert "Конфлікт інтересів (ст. 59-1): Наталія Кравець — Син — засновник підрядника" in text  # d05
    assert "ГОЛОСУВАЛИ «в цілому» (більшість від складу ради)" in text
    assert "За — 17, проти — 1, утрималися — 0, не голосували — 2, відсутні — 14; потрібно 18" in text
    assert "ВИРІШИЛИ: рішення не прийнято" in text
    assert "Ірина Мельник за" in text and "Ганна Сидоренко відсутній" in text  # the roll call
    assert "Питання не розглядалося" in text  # items 2–5
    assert "протокол неповний" not in text  # the session is closed

    missing = await demo.client.get("/sessions/nope/minutes")
    assert missing.status_code == 404 and missing.json()["error"] == "session_not_found"
