"""The mayor's signature on a decision made on the enrolled device: the domain's rules and the offline check.

A soft authenticator (``benchmarks._authenticator.Tablet``, soft-webauthn with the user-verified flag)
stands in for the mayor's device; the decision is driven through validate → decide → evolve.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from documents_support import CHECK, HOLIDAYS, MAYOR, SECRETARY, SERVER, T0, Document
from pydantic import ValidationError

from benchmarks._authenticator import Tablet
from portal_bridge.decision_audit import check_signed_decision
from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER
from portal_bridge.documents import DocumentState, decide_document, digest
from session_server.domain.audit import Discrepancy
from session_server.domain.events import NewEvent
from session_server.domain.roles import Actor, Context
from voting.ballot import Credential, ballot_bytes, ballot_challenge, from_b64url
from voting.canonical import GENESIS, seal
from voting.decision import DeviceKeys, decision_bytes, decision_challenge

ORIGIN = "https://rada.example"
RP_ID = "rada.example"
COUNCIL = "voznesensk"
AT = "2026-11-20T12:00:00.000Z"


class Devices:
    """The mayor's enrolled device, a deputy's, and one revoked, as the council stream would list them."""

    def __init__(self) -> None:
        self.mayor, self.deputy, self.lost = Tablet(ORIGIN), Tablet(ORIGIN), Tablet(ORIGIN)
        self.credentials: dict[str, Credential] = {}
        for tablet, member, revoked in (
            (self.mayor, "mayor", False),
            (self.deputy, "d07", False),
            (self.lost, "mayor", True),
        ):
            credential, cose = tablet.create_directly(RP_ID, member.encode())
            self.credentials[credential] = Credential(credential, member, from_b64url(cose), revoked=revoked)
        self.keys = DeviceKeys(COUNCIL, RP_ID, (ORIGIN,), self.credentials)


class Signed(Document):
    """A ``Document`` decided with the council's devices, keeping every event it records on ``log``."""

    def __init__(self, devices: Devices) -> None:
        super().__init__()
        self.keys = devices.keys
        self.log: list[tuple[Any, str]] = []

    def _decide(self, actor: Actor, fields: dict[str, Any]) -> list[Any]:
        command = DOCUMENT_COMMAND_ADAPTER.validate_python({"id": f"c{next(self.ids)}", **fields})
        ctx = Context(actor, T0 + timedelta(minutes=self.seq))
        return decide_document(
            self.state, command, ctx, holidays=HOLIDAYS, mayor="mayor", check_signature=CHECK, devices=self.keys
        )

    def do(self, actor: Actor, **fields: Any) -> list[Any]:
        events = super().do(actor, **fields)
        self.log += [(event, actor.username) for event in events]
        return events


def adopted(devices: Devices, *, adopt: bool = True) -> Signed:
    doc = Signed(devices)
    doc.do(
        SECRETARY,
        type="document.register",
        document="pr-101",
        number="ПР-101",
        title="Про міську програму",
        initiator="Виконавчий комітет",
        rapporteur="Олена Бондар",
        text="Міська рада вирішила: затвердити програму.",
    )
    doc.do(SECRETARY, type="document.attach", name="рішення.pdf", sha256="ab" * 32, size=48_213)
    doc.do(SECRETARY, type="document.publish_draft", date="2026-11-02")
    doc.do(SECRETARY, type="document.schedule", session="c8-s45", item="i1", date="2026-11-20")
    if adopt:
        outcome = {"session": "c8-s45", "vote": "v2", "outcome": "adopted", "decision_number": "1432"}
        doc.do(SERVER, type="document.record_outcome", **outcome)
    return doc


def signed_bytes(state: DocumentState, **changed: str) -> bytes:
    fields = {"council": COUNCIL, "document": state.id, "decision_number": "1432", "digest": digest(state).hex()}
    return decision_bytes(**{**fields, **changed})


def sign(doc: Document, tablet: Tablet, data: bytes | None = None, **options: Any) -> dict[str, Any]:
    """``document.sign`` fields: the tablet's assertion over the decision's bytes (or ``data``)."""
    assertion = tablet.sign(b"", challenge=decision_challenge(data or signed_bytes(doc.s)), **options)
    return {"type": "document.sign", "algorithm": "webauthn", "assertion": assertion}


@pytest.fixture
def devices() -> Devices:
    return Devices()


def test_the_mayor_signs_an_adopted_decision_on_the_enrolled_device(devices: Devices) -> None:
    doc = adopted(devices)
    [signed] = doc.do(MAYOR, **sign(doc, devices.mayor))
    p = signed.payload
    assert (p["signer"], p["algorithm"], p["key_id"]) == ("mayor", "webauthn", devices.mayor.credential)
    assert (p["council"], p["document"], p["decision_number"], p["digest"]) == (
        COUNCIL,
        "pr-101",
        "1432",
        digest(doc.s).hex(),
    )
    assert p["sign_count"] == 1 and set(p["assertion"]) == {
        "credential",
        "authenticator_data",
        "client_data_json",
        "signature",
    }
    assert doc.s.status == "signed" and doc.s.signature is not None
    assert doc.s.signature["assertion"] == p["assertion"] and doc.s.signature["at"].endswith("Z")


def test_the_challenge_commits_to_the_council_the_document_its_number_and_digest(devices: Devices) -> None:
    doc = adopted(devices)
    for changed in (
        {"council": "kyiv"},
        {"document": "pr-102"},
        {"decision_number": "1433"},
        {"digest": "00" * 32},
    ):
        assert doc.refuse(MAYOR, **sign(doc, devices.mayor, signed_bytes(doc.s, **changed))) == "challenge_mismatch"
    # a ballot's assertion never passes for a decision's: the challenges are domain-separated
    ballot = ballot_bytes(
        council=COUNCIL, session="c8-s45", vote="v2", item="i1", deputy="mayor", choice="for", nonce="n"
    )
    fields = sign(doc, devices.mayor)
    fields["assertion"] = devices.mayor.sign(b"", challenge=ballot_challenge(ballot))
    assert doc.refuse(MAYOR, **fields) == "challenge_mismatch"
    assert doc.s.status == "adopted"


def test_a_signature_by_another_members_a_revoked_or_an_unknown_credential_is_refused(devices: Devices) -> None:
    doc = adopted(devices)
    assert doc.refuse(MAYOR, **sign(doc, devices.deputy)) == "credential_not_yours"
    assert doc.refuse(MAYOR, **sign(doc, devices.lost)) == "credential_revoked"
    stranger = Tablet(ORIGIN)
    stranger.create_directly(RP_ID, b"mayor")
    assert doc.refuse(MAYOR, **sign(doc, stranger)) == "unknown_credential"


def test_a_signature_without_user_verification_or_made_elsewhere_is_refused(devices: Devices) -> None:
    doc = adopted(devices)
    assert doc.refuse(MAYOR, **sign(doc, devices.mayor, user_verified=False)) == "user_not_verified"
    assert doc.refuse(MAYOR, **sign(doc, devices.mayor, origin="https://evil.example")) == "origin_mismatch"
    assert doc.refuse(MAYOR, **sign(doc, devices.mayor, rp_id="evil.example")) == "rp_id_mismatch"
    forged = sign(doc, devices.mayor)
    signature = bytearray(from_b64url(forged["assertion"]["signature"]))
    signature[-1] ^= 1
    forged["assertion"]["signature"] = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
    assert doc.refuse(MAYOR, **forged) == "signature_invalid"
    malformed = sign(doc, devices.mayor)
    malformed["assertion"]["client_data_json"] = "bm90IGpzb24"  # "not json"
    assert doc.refuse(MAYOR, **malformed) == "assertion_invalid"


def test_only_the_mayor_signs_only_an_adopted_decision_and_only_once(devices: Devices) -> None:
    doc = adopted(devices, adopt=False)
    assert doc.refuse(MAYOR, **sign(doc, devices.mayor, signed_bytes(doc.s))) == "not_adopted"
    doc = adopted(devices)
    assert doc.refuse(SECRETARY, **sign(doc, devices.mayor)) == "forbidden"
    doc.do(MAYOR, **sign(doc, devices.mayor))
    assert doc.refuse(MAYOR, **sign(doc, devices.mayor)) == "already_signed"


def test_a_device_signature_carries_an_assertion_and_a_key_signature_does_not(devices: Devices) -> None:
    doc = adopted(devices)
    assertion = sign(doc, devices.mayor)["assertion"]
    for fields in (
        {"algorithm": "webauthn"},
        {"algorithm": "webauthn", "assertion": assertion, "key_id": "k", "signature": "c2ln"},
        {"algorithm": "ed25519", "key_id": "mayor-2026", "signature": "c2ln", "assertion": assertion},
        {"algorithm": "ed25519", "key_id": "mayor-2026"},
        {"algorithm": "webauthn", "assertion": {**assertion, "signature": "not+base64url/"}},
    ):
        with pytest.raises(ValidationError):
            DOCUMENT_COMMAND_ADAPTER.validate_python({"id": "s", "type": "document.sign", **fields})


def _events(doc: Signed, signed_at: str = AT) -> list[dict[str, Any]]:
    """The document's stream as stored: each event sealed in the hash chain."""
    events, prev = [], GENESIS
    for seq, (new, actor) in enumerate(doc.log, start=1):
        at = signed_at if new.type == "decision.signed" else "2026-11-20T10:00:00.000Z"
        fields = {"stream": "document:pr-101", "seq": seq, "type": new.type, "payload": new.payload}
        hash_hex, _ = seal(prev, **fields, actor=actor, at=at)
        events.append({**fields, "actor": actor, "at": at, "hash": hash_hex})
        prev = bytes.fromhex(hash_hex)
    return events


def _council(devices: Devices, *, revoke_mayors_device_at: str | None = None) -> list[dict[str, Any]]:
    """The council stream: created, the mayor and d07 on the roster, their devices enrolled (and one revoked)."""
    payloads: list[tuple[str, dict[str, Any]]] = [
        (
            "council.created",
            {
                "council": COUNCIL,
                "name": "Рада",
                "composition": 34,
                "rules": ["majority_of_composition"],
                "first_ballot_final": False,
                "rp_id": RP_ID,
                "origins": [ORIGIN],
            },
        ),
        ("deputy.added", {"deputy": "mayor", "name": "Марія Коваленко", "faction": None, "mayor": True}),
        ("deputy.added", {"deputy": "d07", "name": "Олег Бойко", "faction": "Разом", "mayor": False}),
    ]
    for credential in devices.credentials.values():
        enrolled = {
            "deputy": credential.deputy,
            "credential": credential.id,
            "sign_count": 0,
            "public_key": base64.urlsafe_b64encode(credential.public_key).rstrip(b"=").decode(),
            "backup_eligible": False,
            "backed_up": False,
            "aaguid": "00000000-0000-0000-0000-000000000000",
        }
        payloads.append(("credential.enrolled", enrolled))
        if credential.revoked:
            payloads.append(("credential.revoked", {"deputy": "mayor", "credential": credential.id, "reason": "lost"}))
    events = [
        {
            "stream": f"council:{COUNCIL}",
            "seq": n,
            "type": t,
            "payload": p,
            "actor": "admin",
            "at": "2026-11-01T09:00:00.000Z",
        }
        for n, (t, p) in enumerate(payloads, start=1)
    ]
    if revoke_mayors_device_at is not None:
        revoked = {"deputy": "mayor", "credential": devices.mayor.credential, "reason": "lost"}
        events.append(
            {
                **events[-1],
                "seq": len(events) + 1,
                "type": "credential.revoked",
                "payload": revoked,
                "at": revoke_mayors_device_at,
            }
        )
    return events


def test_the_offline_check_accepts_the_signed_decision_and_names_the_device(devices: Devices) -> None:
    doc = adopted(devices)
    doc.do(MAYOR, **sign(doc, devices.mayor))
    report = check_signed_decision(_events(doc), _council(devices))
    assert (report.council, report.document, report.decision_number) == (COUNCIL, "pr-101", "1432")
    assert (report.signer, report.signer_name, report.key_id) == ("mayor", "Марія Коваленко", devices.mayor.credential)
    assert report.digest == digest(doc.s).hex() and report.signed_at == AT
    assert report.device_enrolled_at == "2026-11-01T09:00:00.000Z" and report.device_revoked_at is None
    # a device lost after it signed does not undo the signature; the report says when it was revoked
    later = check_signed_decision(_events(doc), _council(devices, revoke_mayors_device_at="2026-11-21T08:00:00.000Z"))
    assert later.device_revoked_at == "2026-11-21T08:00:00.000Z"


def test_the_offline_check_refuses_an_edited_text_a_resealed_edit_and_a_device_revoked_before(
    devices: Devices,
) -> None:
    doc = adopted(devices)
    doc.do(MAYOR, **sign(doc, devices.mayor))
    events = _events(doc)
    edited = [dict(e) for e in events]
    edited[0] = {**edited[0], "payload": {**edited[0]["payload"], "text": "Міська рада вирішила: продати парк."}}
    with pytest.raises(Discrepancy, match="hash does not chain"):
        check_signed_decision(edited, _council(devices))
    # the same edit with the chain sealed again: the digest the mayor signed no longer matches
    doc.log[0] = (NewEvent(doc.log[0][0].type, edited[0]["payload"]), doc.log[0][1])
    with pytest.raises(Discrepancy, match="signed digest is not the decision's"):
        check_signed_decision(_events(doc), _council(devices))
    doc.log[0] = (NewEvent(doc.log[0][0].type, events[0]["payload"]), doc.log[0][1])
    with pytest.raises(Discrepancy, match="credential_revoked"):
        check_signed_decision(_events(doc), _council(devices, revoke_mayors_device_at="2026-11-20T11:00:00.000Z"))
    with pytest.raises(Discrepancy, match="credential_not_yours"):
        council = _council(devices)
        for event in council:
            if event["payload"].get("credential") == devices.mayor.credential:
                event["payload"] = {**event["payload"], "deputy": "d07"}
        check_signed_decision(_events(doc), council)
