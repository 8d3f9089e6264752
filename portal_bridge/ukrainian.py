"""Correct Ukrainian for the texts residents read and officials sign: numbers that agree with their
nouns, dates in words, roll-call lines that agree with the member's grammatical gender.

Plural categories are CLDR's, through Babel (1 депутат, 2–4 депутати, 5–20 депутатів, 21 депутат…);
dates are Babel's long Ukrainian form («2 грудня 2026 р.»). A member whose gender the secretary has
not recorded gets the form that fits both («утримався(-лася)»): it is never guessed from the name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from babel import Locale
from babel.dates import format_date

__all__ = [
    "LINES",
    "composition_line",
    "count",
    "deputies",
    "long_date",
    "plural",
    "quoted",
    "registration_line",
    "roll_call_line",
    "roman",
]

_UK: Final = Locale("uk")


def plural(n: int, one: str, few: str, many: str) -> str:
    """The form of a noun that agrees with ``n`` (CLDR categories one / few / many)."""
    form = _UK.plural_form(abs(n))
    return one if form == "one" else few if form == "few" else many


def count(n: int, one: str, few: str, many: str) -> str:
    """``n`` and its noun in agreement: ``count(34, "депутат", "депутати", "депутатів")`` → «34 депутати»."""
    return f"{n} {plural(n, one, few, many)}"


def long_date(value: str | dt.date) -> str:
    """A date in words as official documents write it: «2 грудня 2026 р.»; an unreadable one as given."""
    if isinstance(value, dt.date):
        return format_date(value, format="long", locale=_UK)
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return value
    return format_date(day, format="long", locale=_UK)


_ROMAN: Final = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(n: int) -> str:
    """``n`` in Roman numerals, as Ukrainian documents number a convocation: ``roman(8)`` → «VIII» (скликання)."""
    if n < 1:
        raise ValueError(f"Roman numerals start at 1, got {n}")
    digits = []
    for value, symbol in _ROMAN:
        times, n = divmod(n, value)
        digits.append(symbol * times)
    return "".join(digits)


LINES: Final[dict[str, tuple[str, str, str]]] = {
    # roll-call value: (male, female, both)
    "for": ("за", "за", "за"),
    "against": ("проти", "проти", "проти"),
    "abstain": ("утримався", "утрималася", "утримався(-лася)"),
    "not_voted": ("не голосував", "не голосувала", "не голосував(-ла)"),
    "absent": ("відсутній", "відсутня", "відсутній(-я)"),
    # a secret ballot: who voted, never how (issue 20)
    "voted": ("голосував таємно", "голосувала таємно", "голосував(-ла) таємно"),
}


def roll_call_line(line: str, gender: str | None) -> str:
    """A member's roll-call line in words, agreeing with the member's recorded grammatical gender."""
    male, female, both = LINES[line]
    return male if gender == "male" else female if gender == "female" else both


LAW: Final = "Закону України «Про місцеве самоврядування в Україні»"


def deputies(n: int) -> str:
    """«1 депутат», «34 депутати», «20 депутатів»."""
    return count(n, "депутат", "депутати", "депутатів")


def registration_line(composition: Mapping[str, Any]) -> str:
    """Who is registered against the statutory composition, as every screen and the minutes say it.

    ``composition`` is the session's public ``composition`` (``session_state.composition``):
    «Зареєстровано 20 депутатів з 34 і міський голова; для кворуму потрібно 18 (ст. 46)».
    """
    if composition.get("committee"):  # a standing committee: its members against its composition (art. 47)
        members = count(composition["registered_deputies"], "член", "члени", "членів")
        return (
            f"Зареєстровано {members} комісії з {composition['statutory']}; "
            f"для кворуму потрібно {composition['quorum']} (ст. 47 {LAW})"
        )
    text = f"Зареєстровано {deputies(composition['registered_deputies'])} з {composition['statutory']}"
    if composition["mayor_taking_part"]:
        text += " і міський голова"
    return f"{text}; для кворуму потрібно {composition['quorum']} (ст. 46 {LAW})"


def composition_line(composition: Mapping[str, Any]) -> str:
    """The composition votes are counted from and how it was reached (art. 59 part 2), in one sentence."""
    if composition.get("committee"):
        members = count(composition["statutory"], "член", "члени", "членів")
        return f"Склад комісії для підрахунку голосів — {members} (ст. 47 {LAW})."
    statutory = deputies(composition["statutory"])
    if composition["mayor_taking_part"]:
        return (
            f"Склад ради для підрахунку голосів — {composition['total']}: {statutory} за законом "
            f"і міський голова, який бере участь у засіданні (ч. 2 ст. 59 {LAW})."
        )
    return (
        f"Склад ради для підрахунку голосів — {statutory} за законом; міський голова в засіданні "
        f"участі не бере (ч. 2 ст. 59 {LAW})."
    )


def quoted(text: str) -> str:
    """``text`` in Ukrainian quotes, «…»; quotes within it become the inner ones, „…“ (a title quoting a
    programme's name, or a vote's title quoting the item it would add)."""
    return f"«{text.replace('«', '„').replace('»', '“')}»"


RECOMMENDATIONS: Final = {"support": "підтримати", "reject": "відхилити", "rework": "повернути на доопрацювання"}
"""A committee's recommendation in words, as web/ukrainian.js says it."""


def conclusion_lines(committees: Mapping[str, bool], conclusions: Sequence[Any], council: Any) -> list[str]:
    """What the standing committees the draft was sent to concluded, a line each, the lead committee first (a
    committee's later conclusion stands), word for word as the screens say it (web/ukrainian.js)."""
    lines = []
    for committee, lead in sorted(committees.items(), key=lambda pair: not pair[1]):
        found = council.committees.get(committee)
        name = found.name if found is not None else committee
        who = f"{name} (головна)" if lead else name
        last = [c for c in conclusions if c.committee == committee][-1:]
        if not last:
            lines.append(f"{who}: висновку ще немає.")
            continue
        what = RECOMMENDATIONS.get(last[0].recommendation, last[0].recommendation)
        if not last[0].adopted:
            lines.append(f"{who}: висновок «{what}» не ухвалено.")
            continue
        lines.append(f"{who}: рекомендує {what}{proposed_amendments(last[0].amendments)}.")
    return lines


def proposed_amendments(amendments: Sequence[str]) -> str:
    """The amendments a conclusion proposes, after what it recommends: «; пропонує поправку 2», «; пропонує
    поправки 2 і 3» ("" for none). An amendment's id is ``a`` and its number (``amendment_rules.propose``)."""
    numbers = [a.removeprefix("a") for a in amendments]
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"; пропонує поправку {numbers[0]}"
    return f"; пропонує поправки {', '.join(numbers[:-1])} і {numbers[-1]}"
