"""The public pages listen for every kind of sitting event the server folds into the state.

EventSource delivers a named event only to a listener for that name: an event type missing from
web/public-feed.js `EVENT_TYPES` would silently never reach the display or the live page (an item
the council adds to the agenda would not appear until the next reload).
"""

from __future__ import annotations

import re
from pathlib import Path

from session_server.domain import session_events
from session_server.domain.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent


def test_the_public_feed_listens_for_every_event_type_the_state_is_folded_from() -> None:
    # the sitting's event types: the classes evolve folds (session_server.domain.session_events)
    folded = {cls.type for cls in EVENT_TYPES.values() if cls.__module__ == session_events.__name__}
    feed = (ROOT / "web/public-feed.js").read_text()
    listed = set(re.findall(r'"([a-z]+\.[a-z_]+)"', feed[feed.index("EVENT_TYPES") : feed.index("];")]))
    assert "item.added" in folded and "vote.closed" in folded  # the registry holds what it must
    assert folded - listed == set()
