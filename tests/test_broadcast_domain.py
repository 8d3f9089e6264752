"""The broadcast on the session's timeline (pure domain) and the chapters read off the log."""

from __future__ import annotations

from session_support import Chamber, in_session

from streaming.chapters import chapters, webvtt


def test_the_broadcast_starts_drops_resumes_and_stops_on_one_timeline() -> None:
    chamber = Chamber()
    chamber.do("secretary", "session.schedule", number=1, convocation=8, date="2026-11-25", title="1 сесія", agenda=[])
    # On air before the session opens: the chamber fills up on camera.
    assert [e.type for e in chamber.do("operator", "broadcast.start")] == ["broadcast.started"]
    started_at = chamber.public()["broadcast"]["started_at"]
    assert chamber.refuse("secretary", "broadcast.start") == "broadcast_live"  # a second publisher
    chamber.tick(60)
    chamber.do("admin", "broadcast.interrupt", reason="no video for 5 s")
    assert chamber.public()["broadcast"] == {
        "status": "interrupted",
        "source": "whip",
        "started_at": started_at,
        "reason": "no video for 5 s",
    }
    assert chamber.refuse("admin", "broadcast.interrupt", reason="again") == "broadcast_not_live"
    chamber.tick(10)
    assert [e.type for e in chamber.do("operator", "broadcast.start", source="camera")] == ["broadcast.resumed"]
    broadcast = chamber.public()["broadcast"]
    assert broadcast["status"] == "live" and broadcast["source"] == "camera"
    assert broadcast["started_at"] == started_at  # the recording's zero does not move
    chamber.do("operator", "broadcast.stop")
    assert chamber.public()["broadcast"]["status"] == "stopped"
    assert chamber.refuse("operator", "broadcast.stop") == "broadcast_not_live"


def test_only_the_operator_the_secretary_and_the_server_run_the_broadcast() -> None:
    chamber = in_session("d1", item=None)
    for who in ("chair", "observer", "d1"):
        assert chamber.refuse(who, "broadcast.start") in ("forbidden", "not_a_deputy")
    chamber.do("secretary", "broadcast.start")
    chamber.do("chair", "session.close")
    chamber.do("operator", "broadcast.stop")  # the camera goes off after the close
    assert chamber.refuse("operator", "broadcast.start") == "session_closed"


def test_chapters_are_offsets_from_the_broadcast_start() -> None:
    chamber = in_session("d1", "d2", "d3", item=None)
    chamber.do("chair", "item.start", item="budget")  # before the camera: the video opens in this item
    chamber.tick(30)
    chamber.do("operator", "broadcast.start")
    chamber.tick(90.5)
    chamber.do("chair", "vote.open", item="budget", subject="в цілому", rule="majority_of_composition", seconds=30)
    for deputy in ("d1", "d2", "d3"):
        chamber.do(deputy, "ballot.cast", vote="v1", choice="for")
    chamber.tick(12)
    chamber.do("chair", "vote.close", vote="v1")
    chamber.do("chair", "item.finish", item="budget")
    chamber.tick(3600)
    chamber.do("chair", "item.start", item="i2")
    agenda = {i.id: (i.number, i.title) for i in chamber.s.agenda.values()}
    found = chapters(chamber.log, agenda)
    assert [(c.start, c.kind, c.item) for c in found] == [
        (0.0, "item", "budget"),
        (90.5, "vote.opened", "budget"),
        (102.5, "vote.closed", "budget"),
        (3702.5, "item", "i2"),
    ]
    assert found[0].title == "1. Про бюджет громади на 2027 рік"
    assert found[2].title == "Результати: рішення прийнято (за 3, потрібно 3)"
    text = webvtt(found, end=3800)
    assert text.startswith("WEBVTT\n\n")
    assert "00:01:30.500 --> 00:01:42.500\nГолосування в цілому: 1. Про бюджет громади на 2027 рік" in text
    assert "01:01:42.500 --> 01:03:20.000\n2. Про перейменування вулиці" in text
    assert chapters(chamber.log[:3], agenda) == []  # no broadcast, no chapters
