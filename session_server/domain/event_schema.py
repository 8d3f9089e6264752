"""The JSON Schema of every declared event type's payload: the public form of the log, for those who read
the ledger with their own code (``kvorum events schema``; checked in as ``docs/events.schema.json``)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from session_server.domain.events import EVENT_TYPES, SEALED, Event, _Absent

__all__ = ["event_schemas"]


def _field_schema(annotation: Any, *, omitted_when_none: bool) -> dict[str, Any]:
    args = typing.get_args(annotation)
    left_out = {_Absent, type(None)} if omitted_when_none else {_Absent}
    if left_out & set(args):  # such a key is left out of the payload: the schema is of the value when there
        annotation = typing.Union[tuple(a for a in args if a not in left_out)]  # noqa: UP007
    schema: dict[str, Any] = TypeAdapter(annotation).json_schema()
    return schema


def _payload_schema(cls: type[Event]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if not f.metadata.get(SEALED)]  # type: ignore[arg-type]  # payload only
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _field_schema(hints[f.name], omitted_when_none=f.name in cls.omit_none) for f in fields},
        "required": [
            f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ],
    }
    if cls.__doc__:
        schema["description"] = " ".join(cls.__doc__.split())
    return schema


def event_schemas(types: Mapping[str, type[Event]] | None = None) -> dict[str, Any]:
    """A JSON Schema (2020-12) whose ``$defs`` hold each event type's payload schema, by type; an event as
    stored is ``{"stream", "seq", "type", "payload", "actor", "at", "hash"}`` (docs/ledger.md). A key not
    in ``required`` is left out of the payload where it does not apply, or was added in a later version."""
    chosen = EVENT_TYPES if types is None else types
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Kvorum events: the payload of each event type",
        "$defs": {name: _payload_schema(chosen[name]) for name in sorted(chosen)},
    }
