"""The public pages listen for every kind of sitting event the server folds into the state.

EventSource delivers a named event only to a listener for that name: an event type missing from
web/public-feed.js `EVENT_TYPES` would silently never reach the display or the live page (an item
the council adds to the agenda would not appear until the next reload).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_public_feed_listens_for_every_event_type_the_state_is_folded_from() -> None:
    folded = set(re.findall(r'"([a-z]+\.[a-z_]+)"', (ROOT / "session_server/domain/session_state.py").read_text()))
    folded = {
        t
        for t in folded
        if t.split(".")[0]
        in {"session", "registration", "presence", "item", "speaker", "conflict", "vote", "ballot", "broadcast"}
    }
    feed = (ROOT / "web/public-feed.js").read_text()
    listed = set(re.findall(r'"([a-z]+\.[a-z_]+)"', feed[feed.index("EVENT_TYPES") : feed.index("];")]))
    assert "item.added" in folded and "vote.closed" in folded  # the scan found what it must
    assert folded - listed == set()
