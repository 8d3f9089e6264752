"""The event format is published as a JSON Schema (``docs/events.schema.json``, ``kvorum events schema``):
it names every event type the code declares, says what each payload holds, and the events a recorded day
makes hold to it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import jsonschema
import recorded_sitting

from session_server.store.events import StoredEvent

DOCUMENT = Path(__file__).parent.parent / "docs" / "events.schema.json"


async def test_the_published_schema_is_the_one_the_code_declares() -> None:
    made = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "session_server", "events", "schema", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await made.communicate()
    assert made.returncode == 0
    assert json.loads(out) == json.loads(DOCUMENT.read_text(encoding="utf-8")), (
        "docs/events.schema.json is out of date: python -m session_server events schema > docs/events.schema.json"
    )


def test_every_event_of_the_recorded_day_holds_to_the_schema_of_its_type() -> None:
    schema = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    events = [StoredEvent.from_leaf(leaf) for leaf in recorded_sitting.recorded()]
    assert {e.type for e in events} <= set(schema["$defs"])  # every type the day uses is published
    for event in events:
        jsonschema.validate(event.payload, {**schema, "$ref": f"#/$defs/{event.type}"})
    vote_opened = next(e for e in events if e.type == "vote.opened")
    without_rule = {k: v for k, v in vote_opened.payload.items() if k != "rule"}
    try:
        jsonschema.validate(without_rule, {**schema, "$ref": "#/$defs/vote.opened"})
    except jsonschema.ValidationError as exc:
        assert "'rule' is a required property" in exc.message
    else:
        raise AssertionError("a vote.opened without its rule passed the schema")
