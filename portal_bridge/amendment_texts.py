"""An amendment in the words of the minutes: «Поправка 1 (автор — депутат Ірина Мельник; обґрунтування:
…): рядок 2 викласти в такій редакції: «…».»"""

from __future__ import annotations

from collections.abc import Sequence

from portal_bridge.amendment_rules import AmendmentRecord
from portal_bridge.documents import DocumentState
from portal_bridge.ukrainian import quoted
from session_server.domain.council import CouncilState
from voting.amendments import Change

__all__ = ["amendment_number", "amendment_texts", "author_words", "change_words"]


def amendment_number(amendment_id: str) -> int | str:
    """The number an amendment's id carries («a3» → 3)."""
    digits = amendment_id.removeprefix("a")
    return int(digits) if digits.isdigit() else amendment_id


def _lines(start: int, end: int) -> str:
    return f"рядок {start}" if start == end else f"рядки {start}–{end}"


def change_words(change: Change) -> str:
    """One change as the minutes state it."""
    if change.op == "insert":
        where = "на початку" if change.start == 0 else f"після рядка {change.start}"
        return f"{where} доповнити текстом {quoted(change.text)}"
    if change.op == "delete":
        return f"{_lines(change.start, change.end)} вилучити"
    return f"{_lines(change.start, change.end)} викласти в такій редакції: {quoted(change.text)}"


def author_words(record: AmendmentRecord, council: CouncilState) -> str:
    """The author as the minutes name them: the deputy's name, «міський голова», or the committee."""
    author = record.author
    if author.get("kind") == "mayor":
        return "міський голова"
    if author.get("kind") == "committee":
        return f"постійна комісія {quoted(str(author.get('name', '')))}"
    member = council.deputies.get(str(author.get("member", "")))
    return member.name if member is not None else str(author.get("member", ""))


def amendment_texts(draft: DocumentState | None, ids: Sequence[str], council: CouncilState) -> list[str]:
    """Each amendment put to the vote, with its author, reason and changes, as a sentence."""
    out = []
    for amendment_id in ids:
        record = draft.amendments.get(amendment_id) if draft is not None else None
        if record is None:
            out.append(f"Поправка {amendment_number(amendment_id)} (її текст не знайдено серед поправок проєкту).")
            continue
        changes = "; ".join(change_words(c) for c in record.changes)
        out.append(
            f"Поправка {record.number} (автор — {author_words(record, council)}; обґрунтування: "
            f"{record.reason.rstrip('. ')}): {changes}."
        )
    return out
