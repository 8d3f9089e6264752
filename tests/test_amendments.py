"""Amendments as changes to a draft's numbered lines: conflicts, and the consolidated text they make."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voting.amendments import Amendment, AmendmentError, Change, check_changes, conflicting, consolidate, lines_of

DRAFT = "\n".join(
    [
        "1. Внести зміни до міського бюджету на 2027 рік.",
        "2. Збільшити видатки на ремонт шкіл на 10 млн грн.",
        "3. Фінансовому управлінню внести зміни до розпису.",
        "4. Контроль покласти на комісію з питань бюджету.",
    ]
)


def test_the_three_kinds_of_change_apply_to_the_drafts_own_line_numbers() -> None:
    replace = Change("replace", 2, 2, "2. Збільшити видатки на ремонт шкіл на 12 млн грн.")
    insert = Change("insert", 3, 3, "3-1. Оприлюднити зміни на сайті ради.")
    delete = Change("delete", 4, 4)
    text = consolidate(DRAFT, [[delete], [replace], [insert]])  # adopted in any order
    assert lines_of(text) == [
        "1. Внести зміни до міського бюджету на 2027 рік.",
        "2. Збільшити видатки на ремонт шкіл на 12 млн грн.",
        "3. Фінансовому управлінню внести зміни до розпису.",
        "3-1. Оприлюднити зміни на сайті ради.",
    ]
    assert consolidate(DRAFT, [[Change("insert", 0, 0, "Преамбула.")]]).startswith("Преамбула.\n1. Внести")
    assert consolidate(DRAFT, []) == DRAFT


def test_changes_that_touch_the_same_lines_or_insert_at_one_place_conflict() -> None:
    a = Amendment("a1", 1, (Change("replace", 2, 3, "нове"),))
    b = Amendment("a2", 2, (Change("delete", 3, 4),))
    c = Amendment("a3", 3, (Change("insert", 1, 1, "вставка"),))
    d = Amendment("a4", 4, (Change("insert", 1, 1, "інша вставка"),))
    e = Amendment("a5", 5, (Change("insert", 2, 2, "всередині заміни"),))
    f = Amendment("a6", 6, (Change("insert", 3, 3, "після заміни"),))
    assert conflicting([a, b, c, d, e, f]) == [(a, b), (a, e), (b, f), (c, d)]  # f inserts inside what b deletes
    with pytest.raises(AmendmentError, match="same lines"):
        consolidate(DRAFT, [a.changes, b.changes])


def test_an_amendment_outside_the_draft_or_without_text_is_refused() -> None:
    with pytest.raises(AmendmentError, match="lines 1–4"):
        check_changes([Change("replace", 4, 5, "x")], 4)
    with pytest.raises(AmendmentError, match="lines 1–4"):
        check_changes([Change("insert", 5, 5, "x")], 4)
    with pytest.raises(AmendmentError, match="new text"):
        check_changes([Change("replace", 1, 1, "  ")], 4)
    with pytest.raises(AmendmentError, match="same lines"):
        check_changes([Change("delete", 1, 2), Change("replace", 2, 2, "x")], 4)
    with pytest.raises(AmendmentError, match="at least one"):
        check_changes([], 4)
    check_changes([Change("insert", 0, 0, "x"), Change("delete", 1, 4)], 4)


def test_the_json_form_round_trips() -> None:
    for change in (Change("replace", 1, 2, "a\nb"), Change("insert", 0, 0, "x"), Change("delete", 3, 3)):
        assert Change.of(change.as_json()) == change


def _reference(text: str, changes: list[Change]) -> str:
    """Apply the changes from the bottom of the draft up, each on the original numbering (a second way)."""
    lines = lines_of(text)
    for change in sorted(changes, key=lambda c: c.span, reverse=True):
        new = lines_of(change.text)
        if change.op == "insert":
            lines[change.start : change.start] = new
        else:
            lines[change.start - 1 : change.end] = new
    return "\n".join(lines)


@st.composite
def _drafts_and_changes(draw: st.DrawFn) -> tuple[str, list[Change]]:
    count = draw(st.integers(1, 12))
    text = "\n".join(f"рядок {n}" for n in range(1, count + 1))
    changes: list[Change] = []
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        if op == "insert":
            after = draw(st.integers(0, count))
            change = Change("insert", after, after, draw(st.sampled_from(["нове", "нове\nще"])))
        else:
            start = draw(st.integers(1, count))
            end = draw(st.integers(start, count))
            change = Change(op, start, end, "заміна" if op == "replace" else "")
        if not any(change.meets(c) for c in changes):
            changes.append(change)
    return text, changes


@settings(max_examples=300, deadline=None)
@given(_drafts_and_changes(), st.randoms())
def test_the_consolidated_text_is_the_same_in_any_order_and_matches_a_second_way(
    case: tuple[str, list[Change]], rnd: object
) -> None:
    text, changes = case
    shuffled = list(changes)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert consolidate(text, [[c] for c in shuffled]) == _reference(text, changes)
