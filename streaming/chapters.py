"""Chapters of a session's recording, read off its log: pure, no I/O.

The recording's zero is the time of `broadcast.started`; every `item.started`, `vote.opened` and
`vote.closed` after it is a chapter at its offset from that zero, in seconds. A resident jumps
straight to the item or the vote that matters to them. Events before the broadcast started get
offset 0 only if they are the item in progress when it started (the chapter the video opens in).

Served as JSON (`chapters`) and as WebVTT chapters (`webvtt`), which video players show as a menu.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from session_server.domain.events import Recorded, parse_time
from session_server.domain.session_events import (
    BroadcastStarted,
    ItemFinished,
    ItemStarted,
    VoteClosed,
    VoteOpened,
)

__all__ = ["Chapter", "chapters", "webvtt"]

_OUTCOME = {"adopted": "рішення прийнято", "rejected": "рішення не прийнято"}
_CONCLUSION = {"adopted": "висновок ухвалено", "rejected": "висновок не ухвалено"}
"""A standing committee's conclusion vote (its sitting's recording)."""


@dataclass(frozen=True, slots=True)
class Chapter:
    """A point on the recording's timeline: `start` in seconds from `broadcast.started`."""

    start: float
    kind: str  # "item", "vote.opened", "vote.closed"
    title: str
    seq: int
    item: str | None = None
    vote: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chapters(events: Iterable[Recorded], agenda: Mapping[str, tuple[str, str]]) -> list[Chapter]:
    """The chapters of the events (a session stream, in order); `agenda` maps item id → (number, title).

    Empty until the broadcast has started.
    """
    zero = None
    found: list[Chapter] = []
    current: Chapter | None = None  # the item in progress, should the broadcast start during it
    vote_items: dict[str, str] = {}
    conclusions: set[str] = set()  # a committee's conclusion votes: their results are conclusions, not decisions

    def label(item: str) -> str:
        number, title = agenda.get(item, ("", item))
        return f"{number}. {title}" if number else title

    for event in events:
        data = event.data
        if isinstance(data, BroadcastStarted) and zero is None:
            zero = parse_time(event.at)
            if current is not None:
                found.append(Chapter(0.0, current.kind, current.title, current.seq, item=current.item))
            continue
        chapter: Chapter | None = None
        match data:
            case ItemStarted(item=item):
                chapter = Chapter(0.0, "item", label(item), event.seq, item=item)
                current = chapter
            case ItemFinished():
                current = None
            case VoteOpened():
                vote_items[data.vote] = data.item
                if data.kind == "conclusion":
                    conclusions.add(data.vote)
                if data.purpose == "agenda_add" and data.proposal is not None:  # a new item, which has no place yet
                    title = f"Голосування про включення до порядку денного: {data.proposal['title']}"
                else:
                    title = f"Голосування {data.subject}: {label(data.item)}"
                chapter = Chapter(0.0, "vote.opened", title, event.seq, item=data.item, vote=data.vote)
            case VoteClosed(tally=tally):
                words = _CONCLUSION if data.vote in conclusions else _OUTCOME
                outcome = words.get(tally["outcome"], tally["outcome"])
                title = f"Результати: {outcome} (за {tally['for']}, потрібно {tally['required']})"
                chapter = Chapter(0.0, "vote.closed", title, event.seq, item=vote_items.get(data.vote), vote=data.vote)
        if chapter is not None and zero is not None:
            offset = (parse_time(event.at) - zero).total_seconds()
            found.append(
                Chapter(round(offset, 3), chapter.kind, chapter.title, chapter.seq, chapter.item, chapter.vote)
            )
    return found


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def webvtt(found: list[Chapter], *, end: float) -> str:
    """WebVTT chapters: each cue lasts until the next chapter, the last one until `end` (seconds)."""
    lines = ["WEBVTT", ""]
    for i, chapter in enumerate(found):
        until = found[i + 1].start if i + 1 < len(found) else max(end, chapter.start + 1)
        until = max(until, chapter.start + 0.001)
        title = chapter.title.replace("-->", "→")
        lines += [f"{chapter.kind}-{chapter.seq}", f"{_stamp(chapter.start)} --> {_stamp(until)}", title, ""]
    return "\n".join(lines)
