"""Working days for the publication rule on draft decisions.

Law of Ukraine "On Access to Public Information", art. 15 part 3: draft decisions of local
self-government bodies are published no later than 10 working days before the date of their
consideration. Working days are Monday to Friday except the public holidays the council lists
(a council setting: the calendar changes by law, and under martial law holidays are suspended).
Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

__all__ = ["PUBLICATION_WORKING_DAYS", "is_working_day", "latest_publication", "published_in_time"]

PUBLICATION_WORKING_DAYS = 10


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    """Monday to Friday and not one of the council's public holidays."""
    return day.weekday() < 5 and day not in holidays


def latest_publication(
    consideration: date, holidays: Collection[date] = (), days: int = PUBLICATION_WORKING_DAYS
) -> date:
    """The last date a draft may be published to be considered on ``consideration``.

    Counted back from the day of consideration: the ``days``-th working day before it (art. 15
    part 3: "не пізніш як за 10 робочих днів до дати їх розгляду").
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = consideration
    counted = 0
    while counted < days:
        day -= timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return day


def published_in_time(published: date, consideration: date, holidays: Collection[date] = ()) -> bool:
    """Whether a draft published on ``published`` may be considered on ``consideration``."""
    return published <= latest_publication(consideration, holidays)
