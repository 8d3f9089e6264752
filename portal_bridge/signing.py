"""The mayor's signature as a reader sees it: verified again against the council's ledger, with its
device and date in the words the decision page prints.

``Documents.document`` puts a ``Verification`` in a signed document's ``signature["check"]``; the
JSON API serves its fields, the decision page (``templates/decision.html``) also its dates in words.
The check itself is ``portal_bridge.decision_audit.check_signed_decision``, the one
``kvorum verify`` runs on a decision's export, so the page says only what anyone can re-check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from portal_bridge.decision_audit import check_signed_decision
from portal_bridge.ukrainian import long_date
from session_server.domain.audit import Discrepancy
from session_server.domain.events import parse_time

__all__ = ["Verification", "verify_signature"]

KYIV: Final = ZoneInfo("Europe/Kyiv")


def _in_words(at: str | None) -> str:
    """«20 листопада 2026 р., 14:05» in Kyiv time; empty for None."""
    if at is None:
        return ""
    local = parse_time(at).astimezone(KYIV)
    return f"{long_date(local.date())}, {local:%H:%M}"


@dataclass(frozen=True, slots=True)
class Verification:
    """A recorded signature checked again: ``verified``, or the ``problem`` that stops it."""

    verified: bool
    problem: str | None = None
    signer_name: str | None = None
    key_id: str | None = None
    signed_at: str | None = None
    device_enrolled_at: str | None = None
    device_revoked_at: str | None = None
    """Set when the device was revoked after it signed (a signature made before stays valid)."""

    @property
    def device(self) -> str:
        """A short name of the credential, as the console's list of devices shows it."""
        return f"{self.key_id[:8]}…" if self.key_id else ""

    @property
    def signed_on(self) -> str:
        """When it was signed, in words (Kyiv time)."""
        return _in_words(self.signed_at)

    @property
    def enrolled_on(self) -> str:
        """When the device was enrolled, in words (Kyiv time)."""
        return _in_words(self.device_enrolled_at)

    @property
    def revoked_on(self) -> str:
        """When the device was revoked, in words (Kyiv time)."""
        return _in_words(self.device_revoked_at)


def verify_signature(
    document_events: Sequence[Mapping[str, Any]], council_events: Sequence[Mapping[str, Any]]
) -> Verification:
    """Check a signed decision's events against the council's; never raises for a bad signature."""
    try:
        report = check_signed_decision(document_events, council_events)
    except Discrepancy as exc:
        return Verification(verified=False, problem=exc.message)
    return Verification(
        verified=True,
        signer_name=report.signer_name,
        key_id=report.key_id,
        signed_at=report.signed_at,
        device_enrolled_at=report.device_enrolled_at,
        device_revoked_at=report.device_revoked_at,
    )
