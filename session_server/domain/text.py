"""What a client may send as text and numbers: checked once, at the edge, for every field of every body.

PostgreSQL stores no NUL in ``text`` or ``jsonb``, and a control character in a title, a name or a
reason would break the pages, the CSV files and the minutes that print it, long after the command
was accepted. So every request model derives from :class:`Strict`, whose one validator looks at
every field, nested lists and dictionaries included, and refuses:

- control characters (Unicode ``Cc``: U+0000–U+001F, U+007F–U+009F) and the noncharacters
  U+FFFE and U+FFFF; a field marked :data:`MULTILINE` may hold tab and line feed;
- integers beyond ±(2**53 − 1), the largest any client's JSON keeps exact; fields that land in a
  narrower column declare their own bounds.

The check is one model validator, skipped when the body is ``clean_json`` (it cannot hold anything
refused). A lone surrogate (``"\\ud800"``) never gets this far: the JSON parser refuses it. Query
parameters and path segments are checked by ``edge.CleanAddresses`` with :func:`bad_character`.
"""

from __future__ import annotations

import functools
import re
import typing
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "ALREADY_CLEAN",
    "MULTILINE",
    "TEXT_ERROR",
    "Multiline",
    "Strict",
    "bad_character",
    "clean_json",
]

TEXT_ERROR = "invalid_text"
"""The error code of a refused character (pydantic error type and API error code alike)."""

_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
LARGEST_INTEGER = 2**53 - 1
NUMBER_ERROR = "number_out_of_range"
"""The pydantic error type of a number too large; the HTTP edge answers it as ``invalid_request``."""

# What a JSON body must hold for any of its strings to fail the check: an escape (of a control
# character, or a tab or line feed, allowed only in MULTILINE fields), a raw C1 character or a
# noncharacter in UTF-8. JSON forbids raw C0 characters in strings, so a body without any of these is
# clean, whatever its fields (``in`` on bytes is a fraction of a regular expression's scan). Numbers
# need no scan: every integer field of a request has bounds of its own (tests/test_edge.py).
_C1 = re.compile(rb"\xc2[\x80-\x9f]")


ALREADY_CLEAN: dict[str, bool] = {"clean": True}
"""The validation context of a body ``clean_json`` found clean: the models skip their own check."""


def clean_json(body: bytes) -> bool:
    """Whether no string of the JSON ``body`` can fail the check (then it need not run)."""
    return not (
        b"\\" in body
        or b"\xef\xbf\xbe" in body
        or b"\xef\xbf\xbf" in body
        or (b"\xc2" in body and _C1.search(body) is not None)
    )


class Multiline:
    """``Annotated[str, MULTILINE]``: a field that may hold tabs and line feeds (a note, a body)."""

    def __repr__(self) -> str:
        return "MULTILINE"


MULTILINE = Multiline()


def bad_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character ``value`` may not hold, as ``U+0000``; None when it is clean."""
    found = (_LINES if multiline else _LINE).search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _check(value: Any, multiline: bool, field: str) -> None:
    if isinstance(value, str):
        bad = bad_character(value, multiline=multiline)
        if bad is not None:
            raise PydanticCustomError(
                TEXT_ERROR, "the character {character} is not allowed in text", {"character": bad, "field": field}
            )
    elif isinstance(value, bool) or isinstance(value, BaseModel):
        pass  # a nested model checked itself
    elif isinstance(value, int):
        if not -LARGEST_INTEGER <= value <= LARGEST_INTEGER:
            raise PydanticCustomError(
                NUMBER_ERROR, "the number is beyond ±{largest}", {"largest": LARGEST_INTEGER, "field": field}
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, False, field)
            _check(item, multiline, field)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, multiline, f"{field}.{index}")


class Strict(BaseModel):
    """Base of every request body and command: strict types, no unknown fields, frozen, clean text.

    One validator for the whole model, run once it is built (a validator per field cost five times
    the parse of a ballot, ``benchmarks.edge``); the field at fault goes in the error's context
    (``field``), where the HTTP edge takes it from.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="after")
    def _clean(self, info: ValidationInfo) -> Self:
        if info.context is ALREADY_CLEAN:
            return self
        multiline = _multiline(type(self))
        for name, value in self.__dict__.items():
            if value is not None:
                _check(value, name in multiline, name)
        return self


@functools.cache
def _multiline(model: type[BaseModel]) -> frozenset[str]:
    """The fields marked MULTILINE, also inside ``X | None`` and ``list[X]``."""

    def marked(annotation: Any) -> bool:
        return any(isinstance(m, Multiline) for m in getattr(annotation, "__metadata__", ())) or any(
            marked(arg) for arg in typing.get_args(annotation)
        )

    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(isinstance(m, Multiline) for m in field.metadata) or marked(field.annotation)
    )
