"""Official texts speak correct Ukrainian: numbers agree with nouns, dates in words, gendered lines."""

from __future__ import annotations

import datetime as dt

import pytest

from portal_bridge.ukrainian import composition_line, count, long_date, registration_line, roll_call_line, roman


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1 депутат"),
        (2, "2 депутати"),
        (4, "4 депутати"),
        (5, "5 депутатів"),
        (11, "11 депутатів"),
        (14, "14 депутатів"),
        (21, "21 депутат"),
        (22, "22 депутати"),
        (34, "34 депутати"),
        (35, "35 депутатів"),
        (0, "0 депутатів"),
    ],
)
def test_a_number_agrees_with_its_noun(n: int, text: str) -> None:
    assert count(n, "депутат", "депутати", "депутатів") == text


def test_dates_are_written_in_words_as_official_documents_write_them() -> None:
    # CLDR keeps «р.» with its year by a narrow no-break space (U+202F).
    assert long_date("2026-12-02") == "2 грудня 2026\u202fр."
    assert long_date(dt.date(2027, 3, 1)) == "1 березня 2027\u202fр."
    assert long_date("2026-12-02T10:15:00.000Z") == "2 грудня 2026\u202fр."
    assert long_date("not a date") == "not a date"


def test_roll_call_lines_agree_with_the_members_recorded_gender() -> None:
    assert roll_call_line("abstain", "female") == "утрималася"
    assert roll_call_line("abstain", "male") == "утримався"
    assert roll_call_line("absent", "female") == "відсутня"
    assert roll_call_line("not_voted", "male") == "не голосував"
    assert roll_call_line("for", "female") == "за"
    # Not recorded: a form that fits both, never a guess from the name.
    assert roll_call_line("absent", None) == "відсутній(-я)"


def test_the_composition_is_stated_with_how_it_was_reached() -> None:
    with_mayor = {"statutory": 34, "quorum": 18, "registered_deputies": 20, "mayor_taking_part": True, "total": 35}
    assert registration_line(with_mayor) == (
        "Зареєстровано 20 депутатів з 34 і міський голова; для кворуму потрібно 18 "
        "(ст. 46 Закону України «Про місцеве самоврядування в Україні»)"
    )
    assert composition_line(with_mayor).startswith(
        "Склад ради для підрахунку голосів — 35: 34 депутати за законом і міський голова, який бере участь"
    )
    alone = {**with_mayor, "mayor_taking_part": False, "total": 34, "registered_deputies": 21}
    assert registration_line(alone).startswith("Зареєстровано 21 депутат з 34; ")
    assert composition_line(alone).startswith("Склад ради для підрахунку голосів — 34 депутати за законом; міський")


@pytest.mark.parametrize(
    ("n", "text"), [(1, "I"), (4, "IV"), (8, "VIII"), (9, "IX"), (14, "XIV"), (40, "XL"), (1999, "MCMXCIX")]
)
def test_a_convocation_is_numbered_in_roman_numerals(n: int, text: str) -> None:
    assert roman(n) == text


def test_there_is_no_roman_numeral_below_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        roman(0)
