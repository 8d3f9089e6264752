"""How a draft's amendments and its text's versions are shown: to the API, the tablets, the portal and
the minutes (one view for all)."""

from __future__ import annotations

import difflib
from typing import Any

from portal_bridge.documents import DocumentState
from voting.amendments import lines_of

__all__ = ["amendment_views", "proposing_committees", "text_diff", "versions"]


def proposing_committees(state: DocumentState, amendment_id: str) -> list[str]:
    """The standing committees whose conclusion on the draft (each committee's last, when adopted) proposes
    the amendment, in the order of their conclusions."""
    last = {c.committee: c for c in state.conclusions}
    return [c.committee for c in last.values() if c.adopted and amendment_id in c.amendments]


def amendment_views(state: DocumentState) -> list[dict[str, Any]]:
    """Each amendment in its number's order: author, reason, changes (JSON form), status, the vote that
    decided it, ``conflicts_with``: the numbers of the other amendments still standing (not withdrawn)
    that change the same lines, and ``proposed_by``: the committees whose conclusions propose it."""
    records = sorted(state.amendments.values(), key=lambda a: a.number)
    standing = [r for r in records if r.status != "withdrawn"]
    views = []
    for record in records:
        mine = record.as_amendment()
        conflicts = [
            other.number
            for other in standing
            if other.id != record.id and record.status != "withdrawn" and mine.conflicts_with(other.as_amendment())
        ]
        views.append(
            {
                "id": record.id,
                "number": record.number,
                "author": record.author,
                "reason": record.reason,
                "changes": [c.as_json() for c in record.changes],
                "status": record.status,
                "vote": record.vote,
                "jointly": list(record.jointly),
                "proposed_at": record.proposed_at,
                "conflicts_with": conflicts,
                "proposed_by": proposing_committees(state, record.id),
            }
        )
    return views


def versions(state: DocumentState) -> list[dict[str, Any]]:
    """The text's versions: the draft as registered, then the consolidated text of the adopted decision
    (with the amendments it applied) where amendments were adopted."""
    found: list[dict[str, Any]] = [{"version": 1, "kind": "draft", "text": state.draft_text}]
    if state.adopted_amendments:
        found.append(
            {
                "version": 2,
                "kind": "consolidated",
                "text": state.text,
                "amendments": list(state.adopted_amendments),
                "diff": text_diff(state.draft_text, state.text),
            }
        )
    return found


def text_diff(before: str, after: str) -> list[dict[str, Any]]:
    """Line-by-line differences: ``{"op": "same"|"removed"|"added", "line": n or null, "text"}`` where
    ``line`` is the draft's line number for a kept or removed line."""
    old, new = lines_of(before), lines_of(after)
    out: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            out += [{"op": "same", "line": i + 1, "text": old[i]} for i in range(i1, i2)]
            continue
        out += [{"op": "removed", "line": i + 1, "text": old[i]} for i in range(i1, i2)]
        out += [{"op": "added", "line": None, "text": new[j]} for j in range(j1, j2)]
    return out
