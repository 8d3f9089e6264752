"""Offline check of the mayor's signature on a decision: what ``kvorum verify`` does with a decision's export.

The export (``kvorum-decision-v1``, see docs/ledger.md, "Signed decisions") holds the decision's
events (its stream ``document:<id>``) and the council's ledger with its signed checkpoints. The
check stops at the first discrepancy:

1. the council's ledger holds: steps 1 and 2 of ``audit`` (hash chain, checkpoints signed by a
   known key, Merkle roots, consistency between checkpoints);
2. the decision's events are canonical and chain from seq 1;
3. the digest computed again from the registered text (or, where amendments were adopted, the
   consolidated text, itself computed again from the draft and those amendments' changes with
   ``voting.amendments.consolidate`` and compared with the one recorded), the files' SHA-256 and the
   adoption (``voting.decision.document_digest``) is the one that was signed;
4. the signature, against the council as it stood when the decision was signed (its ledger up to
   that moment): for ``webauthn``, the credential was enrolled for the member who is the mayor and
   not revoked, and the assertion verifies over the decision's challenge with user verification, on
   the council's origins and relying party; for ``ed25519``, the key was one of the council's
   ``signer_keys`` (which the council lists as its mayor's) and the signature verifies over the digest.

Pure, no I/O: the decision page runs ``check_signed_decision`` on the events it reads from the store, and
``kvorum verify`` finds ``check_export`` through the extension's ``exports`` (the core's verifier knows
the ledger's format, the extension its own).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from portal_bridge.document_events import (
    AmendmentProposed,
    DecisionAdopted,
    DecisionSigned,
    DraftAttached,
    DraftRegistered,
)
from session_server.domain.audit import Discrepancy, verified_council_ledger
from session_server.domain.council import CouncilState, evolve_council
from session_server.domain.council_events import CredentialEnrolled, CredentialRevoked
from session_server.domain.events import RecordedEvent, parse_event, parse_time
from voting.amendments import AmendmentError, Change, consolidate
from voting.canonical import GENESIS, canonical, event_hash
from voting.decision import (
    ED25519,
    WEBAUTHN,
    DeviceKeys,
    SignatureRefused,
    check_device_signature,
    decision_bytes,
    document_digest,
    ed25519_valid,
)

__all__ = ["DECISION_EXPORT_FORMAT", "DecisionReport", "audit_decision", "check_export", "check_signed_decision"]

DECISION_EXPORT_FORMAT = "kvorum-decision-v1"


@dataclass(frozen=True, slots=True)
class DecisionReport:
    """What the check established about one signed decision."""

    council: str
    document: str
    decision_number: str
    title: str
    digest: str
    signer: str
    """The member id of the mayor who signed."""
    signer_name: str
    algorithm: str
    key_id: str
    """The credential id (``webauthn``) or the signer key's id."""
    signed_at: str
    device_enrolled_at: str | None = None
    """When the credential was enrolled (``webauthn``)."""
    device_revoked_at: str | None = None
    """When the credential was revoked, after it signed, if it was."""
    events: int = 0
    council_events: int = 0
    checkpoints: int = 0
    keys: tuple[str, ...] = ()


def _document_events(leaves: Any) -> list[dict[str, Any]]:
    """Step 2 for an export: each leaf the canonical form of its event, the chain from seq 1."""
    if not isinstance(leaves, list) or not leaves:
        raise Discrepancy("document", None, "the export has no events of the decision")
    events = []
    for index, encoded in enumerate(leaves):
        try:
            leaf = base64.b64decode(encoded, validate=True)
            event = orjson.loads(leaf)
        except (TypeError, ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
            raise Discrepancy("document", index, f"the leaf is not an event: {exc}") from None
        if not isinstance(event, dict) or canonical(event) != leaf:
            raise Discrepancy("document", index, "the leaf is not the canonical form of its event")
        events.append(event)
    return events


def _chain(events: Sequence[Mapping[str, Any]]) -> None:
    prev = GENESIS
    for index, event in enumerate(events):
        if event.get("seq") != index + 1:
            raise Discrepancy("document", index, f"seq {event.get('seq')} where {index + 1} belongs")
        try:
            digest = event_hash(prev, event)
        except (TypeError, ValueError) as exc:
            raise Discrepancy("document", index, f"the event cannot be hashed: {exc}") from None
        if event.get("hash") != digest:
            raise Discrepancy("document", index, "the hash does not chain to the previous event (an edited event)")
        prev = bytes.fromhex(digest)


@dataclass(slots=True)
class _Adopted:
    """The digest's fields, read from the decision's events up to its signature."""

    document: str = ""
    number: str = ""
    title: str = ""
    text: str = ""
    attachments: tuple[str, ...] = ()
    session: str | None = None
    vote: str | None = None
    decision_number: str | None = None


def _signed(events: Sequence[Mapping[str, Any]]) -> tuple[_Adopted, int, DecisionSigned, str]:
    """``(the adopted decision as signed, the index of decision.signed, that event, its time)``."""
    adopted = _Adopted()
    amendments: dict[str, list[Change]] = {}
    for index, event in enumerate(events):
        try:
            typed = parse_event(event["type"], event["payload"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Discrepancy("document", index, f"{event.get('type')} cannot be read: {exc}") from None
        match typed:
            case DraftRegistered(document=document, number=number, title=title, text=text):
                adopted.document, adopted.number, adopted.title, adopted.text = document, number, title, text
            case DraftAttached(sha256=sha256):
                adopted.attachments = (*adopted.attachments, sha256)
            case AmendmentProposed(amendment=amendment, changes=changes):
                amendments[amendment] = [Change.of(dict(c)) for c in changes]
            case DecisionAdopted(session=session, vote=vote, decision_number=decision_number) as decided:
                adopted.session, adopted.vote, adopted.decision_number = session, vote, decision_number
                if decided.amendments:
                    adopted.text = _consolidated(adopted.text, decided, amendments, index)
            case DecisionSigned() as signed:
                if adopted.decision_number is None:
                    raise Discrepancy("document", index, "signed before it was adopted")
                return adopted, index, signed, str(event.get("at"))
    raise Discrepancy("document", None, "the decision is not signed")


def _consolidated(draft: str, decided: DecisionAdopted, amendments: Mapping[str, list[Change]], index: int) -> str:
    """The consolidated text, made again from the draft and the adopted amendments; it must be the recorded one."""
    try:
        text = consolidate(draft, [amendments[a] for a in decided.amendments or ()])
    except (KeyError, AmendmentError) as exc:
        raise Discrepancy("document", index, f"the adopted amendments cannot be applied to the draft: {exc}") from None
    if text != decided.text:
        raise Discrepancy("document", index, "the consolidated text is not the draft with its adopted amendments")
    return text


def _council_then(council_events: Sequence[Mapping[str, Any]], at: str) -> CouncilState:
    """The council as its ledger stood at ``at`` (every event recorded up to then)."""
    when = parse_time(at)
    council: CouncilState | None = None
    for event in council_events:
        try:
            if parse_time(event["at"]) > when:
                break
            council = evolve_council(council, RecordedEvent(event["type"], event["payload"], event["seq"], event["at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise Discrepancy("council", None, f"council event {event.get('seq')} cannot be read: {exc}") from None
    if council is None:
        raise Discrepancy("council", None, "the decision was signed before the council existed")
    return council


def check_signed_decision(
    document_events: Sequence[Mapping[str, Any]], council_events: Sequence[Mapping[str, Any]]
) -> DecisionReport:
    """Steps 2 to 4 on events already read (each ``{stream, seq, type, payload, actor, at, hash}``).

    Raises Discrepancy naming the first problem; the council's events are trusted as given (the
    export's are checked against its signed checkpoints first, by ``audit_decision``).
    """
    _chain(document_events)
    adopted, index, signed, at = _signed(document_events)
    digest = document_digest(
        document=adopted.document,
        number=adopted.number,
        decision_number=adopted.decision_number,
        title=adopted.title,
        text=adopted.text,
        attachments=adopted.attachments,
        session=adopted.session,
        vote=adopted.vote,
    ).hex()
    if signed.digest != digest:
        raise Discrepancy("document", index, f"the signed digest is not the decision's ({digest})")
    try:
        council = _council_then(council_events, at)
    except ValueError as exc:
        raise Discrepancy("document", index, f"its time cannot be read: {exc}") from None
    assert adopted.decision_number is not None  # _signed saw the adoption
    algorithm, key_id = signed.algorithm, signed.key_id
    enrolled_at = revoked_at = None
    if algorithm == WEBAUTHN:
        data = decision_bytes(
            council=council.id, document=adopted.document, decision_number=adopted.decision_number, digest=digest
        )
        keys = DeviceKeys(council.id, council.rp_id, council.origins, council.credentials)
        try:
            credential, _ = check_device_signature(data, signed.assertion or {}, keys, mayor=council.mayor)
        except SignatureRefused as exc:
            raise Discrepancy("document", index, f"the mayor's signature: {exc.code}: {exc.message}") from None
        recorded = (signed.signer, key_id, signed.council, signed.document, signed.decision_number)
        if recorded != (credential.deputy, credential.id, council.id, adopted.document, adopted.decision_number):
            raise Discrepancy("document", index, "the signed event names another signer, device or decision")
        enrolled_at = _time_of(council_events, CredentialEnrolled, credential.id)
        revoked_at = _time_of(council_events, CredentialRevoked, credential.id)
    elif algorithm == ED25519:
        _check_ed25519(council, signed, bytes.fromhex(digest), index)
    else:
        raise Discrepancy("document", index, f"signed with {algorithm!r}, which this verifier cannot check")
    mayor = council.deputies.get(str(signed.signer))
    return DecisionReport(
        council=council.id,
        document=adopted.document,
        decision_number=adopted.decision_number,
        title=adopted.title,
        digest=digest,
        signer=str(signed.signer),
        signer_name=mayor.name if mayor is not None else str(signed.signer),
        algorithm=str(algorithm),
        key_id=str(key_id),
        signed_at=at,
        device_enrolled_at=enrolled_at,
        device_revoked_at=revoked_at,
        events=len(document_events),
    )


def _check_ed25519(council: CouncilState, signed: DecisionSigned, digest: bytes, index: int) -> None:
    key = council.signer_keys.get(str(signed.key_id))
    if key is None:
        raise Discrepancy("document", index, f"key {signed.key_id!r} was not one of the council's signer keys")
    if not ed25519_valid(key, str(signed.signature), digest):
        raise Discrepancy("document", index, "the mayor's signature: signature_invalid")


def _time_of(
    council_events: Sequence[Mapping[str, Any]], kind: type[CredentialEnrolled | CredentialRevoked], credential: str
) -> str | None:
    """When the council's ledger first recorded ``kind`` of event for ``credential``."""
    for event in council_events:
        if event.get("type") != kind.type:
            continue  # only the events of that kind are read
        typed = parse_event(kind.type, event.get("payload") or {})
        if isinstance(typed, kind) and typed.credential == credential:
            return str(event["at"])
    return None


def audit_decision(export: Mapping[str, Any], *, trusted_keys: Sequence[str] | None = None) -> DecisionReport:
    """Check a decision's export (all four steps); the report, or Discrepancy naming the first problem.

    ``trusted_keys`` (vkey lines) pins the council's checkpoint keys, as for ``audit``.
    """
    if export.get("format") != DECISION_EXPORT_FORMAT:
        raise Discrepancy("export", None, f"not a {DECISION_EXPORT_FORMAT} file")
    council_events, keys, checkpoints = verified_council_ledger(export, trusted_keys)
    events = _document_events(export.get("document_events"))
    report = check_signed_decision(events, council_events)
    if report.document != export.get("document") or report.council != export.get("council"):
        raise Discrepancy("export", None, "the file names another decision or council than its events")
    return replace(report, council_events=len(council_events), checkpoints=checkpoints, keys=tuple(keys))


def report_text(report: DecisionReport) -> str:
    """The short human report printed when a decision's signature verifies."""
    if report.algorithm == "webauthn":
        how = f"on the mayor's enrolled device {report.key_id} (WebAuthn, user verified)"
        if report.device_enrolled_at:
            how += f", enrolled {report.device_enrolled_at}"
    else:
        how = f"with key {report.key_id} ({report.algorithm})"
    lines = [
        f"OK  {report.council} / decision {report.decision_number} ({report.document}): «{report.title}»",
        f"    {report.events} events chained; council ledger: {report.council_events} events, "
        f"{report.checkpoints} signed checkpoints verified",
        f"    digest {report.digest} recomputed from the text and files",
        f"    signed by {report.signer_name} ({report.signer}) at {report.signed_at} {how}",
    ]
    if report.device_revoked_at:
        lines.append(f"    note: the device was revoked later, at {report.device_revoked_at}")
    lines += [f"    council ledger signed by key {key}" for key in report.keys]
    return "\n".join(lines)


def check_export(export: Mapping[str, Any], trusted_keys: Sequence[str] | None) -> str:
    """``kvorum verify`` on a decision's export: the report's text, or Discrepancy naming the first problem."""
    return report_text(audit_decision(export, trusted_keys=trusted_keys))
