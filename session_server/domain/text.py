"""What a client may send as text and numbers: checked once, at the edge, for every field of every body.

PostgreSQL stores no NUL in ``text`` or ``jsonb``, and a control character in a title, a name or a
reason would break the pages, the CSV files and the minutes that print it, long after the command
was accepted. So every request model derives from :class:`Strict`, whose one validator looks at
every field, nested lists and dictionaries included, and refuses:

- control characters (Unicode ``Cc``: U+0000–U+001F, U+007F–U+009F) and the noncharacters
  U+FFFE and U+FFFF; a field marked :data:`MULTILINE` may hold tab and line feed;
- integers beyond ±(2**53 − 1), the largest any client's JSON keeps exact; fields that land in a
  narrower column declare their own bounds.

A lone surrogate (``"\\ud800"``) never gets this far: the JSON parser refuses it. Query parameters
and path segments go through :func:`check_text` at the HTTP edge.
"""

from __future__ import annotations

import functools
import re
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["MULTILINE", "TEXT_ERROR", "Multiline", "Strict", "bad_character", "check_text"]

TEXT_ERROR = "invalid_text"
"""The error code of a refused character (pydantic error type and API error code alike)."""

_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
LARGEST_INTEGER = 2**53 - 1


class Multiline:
    """``Annotated[str, MULTILINE]``: a field that may hold tabs and line feeds (a note, a body)."""

    def __repr__(self) -> str:
        return "MULTILINE"


MULTILINE = Multiline()


def bad_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character ``value`` may not hold, as ``U+0000``; None when it is clean."""
    found = (_LINES if multiline else _LINE).search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_text(value: str, *, multiline: bool = False) -> None:
    """Raise ``ValueError`` naming the character when ``value`` holds one that text may not."""
    bad = bad_character(value, multiline=multiline)
    if bad is not None:
        raise ValueError(f"the character {bad} is not allowed in text")


def _check(value: Any, multiline: bool) -> None:
    if isinstance(value, str):
        bad = bad_character(value, multiline=multiline)
        if bad is not None:
            raise PydanticCustomError(
                TEXT_ERROR, "the character {character} is not allowed in text", {"character": bad}
            )
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if not -LARGEST_INTEGER <= value <= LARGEST_INTEGER:
            raise ValueError(f"the number is beyond ±{LARGEST_INTEGER}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, False)
            _check(item, multiline)
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item, multiline)


class Strict(BaseModel):
    """Base of every request body and command: strict types, no unknown fields, frozen, clean text."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any, info: ValidationInfo) -> Any:
        # Nested models validated themselves; enums are one of their values.
        if isinstance(value, str | int | dict | list | tuple) and not isinstance(value, BaseModel):
            _check(value, info.field_name is not None and _multiline(cls, info.field_name))
        return value


@functools.cache
def _multiline(model: type[BaseModel], name: str) -> bool:
    """Whether the field is marked MULTILINE, also inside ``X | None`` and ``list[X]``."""
    field = model.model_fields[name]

    def marked(annotation: Any) -> bool:
        return any(isinstance(m, Multiline) for m in getattr(annotation, "__metadata__", ())) or any(
            marked(arg) for arg in typing.get_args(annotation)
        )

    return any(isinstance(m, Multiline) for m in field.metadata) or marked(field.annotation)
