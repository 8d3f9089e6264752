"""A decision document's life through the pure domain, with every refusal, and the working-day rule."""

from __future__ import annotations

from datetime import date, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from documents_support import HOLIDAYS, MAYOR, MAYOR_KEY, SECRETARY, SERVER, Document
from hypothesis import given
from hypothesis import strategies as st

from portal_bridge.documents import Attachment, DocumentState, digest, overdue
from portal_bridge.signatures import ED25519, ed25519_sign
from portal_bridge.workdays import is_working_day, latest_publication, published_in_time
from session_server.domain.roles import Actor, Role

DEPUTY = Actor("deputy07", Role.DEPUTY, "d07")


def registered() -> Document:
    doc = Document()
    doc.do(
        SECRETARY,
        type="document.register",
        document="pr-101",
        number="ПР-101",
        title="Про міську програму «Електронне урядування»",
        initiator="Виконавчий комітет",
        rapporteur="Олена Бондар",
        text="Міська рада вирішила: затвердити програму.",
    )
    return doc


def test_a_decision_from_draft_to_published_and_executed() -> None:
    doc = registered()
    doc.do(SECRETARY, type="document.attach", name="проєкт.pdf", sha256="ab" * 32, size=48_213)
    doc.do(SECRETARY, type="document.publish_draft", date="2026-11-02")
    [scheduled] = doc.do(SECRETARY, type="document.schedule", session="c8-s45", item="i1", date="2026-11-20")
    assert scheduled.payload["override"] is None
    doc.do(
        SERVER, type="document.record_outcome", session="c8-s45", vote="v1", outcome="adopted", decision_number="1432"
    )
    assert (doc.s.status, doc.s.decision_number) == ("adopted", "1432")
    signature = ed25519_sign(MAYOR_KEY, digest(doc.s))
    [signed] = doc.do(MAYOR, type="document.sign", algorithm=ED25519, key_id="mayor-2026", signature=signature)
    assert signed.payload["digest"] == digest(doc.s).hex() and signed.payload["signer"] == "mayor"
    doc.do(SECRETARY, type="document.publish", date="2026-11-21")
    doc.do(SECRETARY, type="execution.assign", unit="Відділ цифрової трансформації", deadline="2026-12-31")
    assert overdue([doc.s], date(2027, 1, 5)) == [doc.s]
    doc.do(SECRETARY, type="execution.report", status="done", note="Програму затверджено і розпочато")
    assert overdue([doc.s], date(2027, 1, 5)) == []
    assert [t for t, _ in doc.s.history] == [
        "draft.registered",
        "draft.attached",
        "draft.published",
        "draft.scheduled",
        "decision.adopted",
        "decision.signed",
        "decision.published",
        "execution.assigned",
        "execution.reported",
    ]


def test_an_early_draft_needs_a_logged_override() -> None:
    doc = registered()
    assert doc.refuse(SECRETARY, type="document.schedule", session="c8-s45", item="i1", date="2026-11-20") == (
        "draft_not_published"
    )
    doc.do(SECRETARY, type="document.publish_draft", date="2026-11-10")
    # 10 working days before Friday 20 November is Friday 6 November: published on the 10th is too late
    code = doc.refuse(SECRETARY, type="document.schedule", session="c8-s45", item="i1", date="2026-11-20")
    assert code == "published_too_late"
    [scheduled] = doc.do(
        SECRETARY,
        type="document.schedule",
        session="c8-s45",
        item="i1",
        date="2026-11-20",
        override_reason="Невідкладне питання: аварійний стан мосту",
    )
    assert scheduled.payload["override"] == {"reason": "Невідкладне питання: аварійний стан мосту"}


def test_every_refusal_of_the_lifecycle() -> None:
    doc = registered()
    assert doc.refuse(SECRETARY, type="document.register", document="pr-101", number="x", title="x", initiator="x",
                      rapporteur="x") == "document_exists"  # fmt: skip
    assert doc.refuse(DEPUTY, type="document.publish_draft", date="2026-11-02") == "forbidden"
    doc.do(SECRETARY, type="document.publish_draft", date="2026-11-02")
    assert doc.refuse(SECRETARY, type="document.publish_draft", date="2026-11-03") == "draft_published"
    assert doc.refuse(SECRETARY, type="document.attach", name="x.pdf", sha256="cd" * 32, size=10) == "draft_published"
    outcome = {"type": "document.record_outcome", "session": "c8-s45", "vote": "v1", "outcome": "adopted"}
    assert doc.refuse(SERVER, **outcome, decision_number="1") == "not_scheduled"
    doc.do(SECRETARY, type="document.schedule", session="c8-s45", item="i1", date="2026-11-20")
    assert doc.refuse(SECRETARY, **outcome, decision_number="1") == "forbidden"  # only the server records it
    assert doc.refuse(SERVER, **{**outcome, "session": "c8-s46"}, decision_number="1") == "not_scheduled"
    assert doc.refuse(SERVER, **outcome) == "invalid_command"  # adopted without a decision number
    sign = {"type": "document.sign", "algorithm": ED25519, "key_id": "mayor-2026"}
    assert doc.refuse(MAYOR, **sign, signature=ed25519_sign(MAYOR_KEY, digest(doc.s))) == "not_adopted"
    assert doc.refuse(SECRETARY, type="document.publish", date="2026-11-21") == "not_signed"
    doc.do(SERVER, **outcome, decision_number="1433")
    assert doc.refuse(DEPUTY, **sign, signature=ed25519_sign(MAYOR_KEY, digest(doc.s))) == "forbidden"
    forged = ed25519_sign(Ed25519PrivateKey.generate(), digest(doc.s))
    assert doc.refuse(MAYOR, **sign, signature=forged) == "signature_invalid"
    assert doc.refuse(MAYOR, **sign, signature=ed25519_sign(MAYOR_KEY, b"another text")) == "signature_invalid"
    assert doc.refuse(SECRETARY, type="execution.report", status="done") == "no_execution"
    doc.do(MAYOR, **sign, signature=ed25519_sign(MAYOR_KEY, digest(doc.s)))
    assert doc.refuse(MAYOR, **sign, signature=ed25519_sign(MAYOR_KEY, digest(doc.s))) == "already_signed"


def test_a_rejected_decision_cannot_be_signed() -> None:
    doc = registered()
    doc.do(SECRETARY, type="document.publish_draft", date="2026-11-02")
    doc.do(SECRETARY, type="document.schedule", session="c8-s45", item="i1", date="2026-11-20")
    doc.do(SERVER, type="document.record_outcome", session="c8-s45", vote="v1", outcome="rejected")
    signature = ed25519_sign(MAYOR_KEY, digest(doc.s))
    code = doc.refuse(MAYOR, type="document.sign", algorithm=ED25519, key_id="mayor-2026", signature=signature)
    assert code == "not_adopted"
    assert Document().refuse(SECRETARY, type="document.publish_draft", date="2026-11-02") == "document_not_found"


def test_working_days_skip_weekends_and_the_councils_holidays() -> None:
    assert latest_publication(date(2026, 11, 20)) == date(2026, 11, 6)  # Fri → Fri two weeks before
    assert latest_publication(date(2026, 11, 23)) == date(2026, 11, 9)  # Mon → Mon
    # Christmas (Fri 25 Dec) and New Year (Fri 1 Jan) are not working days
    assert latest_publication(date(2027, 1, 8), HOLIDAYS) == date(2026, 12, 23)
    assert latest_publication(date(2027, 1, 8)) == date(2026, 12, 25)
    assert published_in_time(date(2026, 11, 6), date(2026, 11, 20))
    assert not published_in_time(date(2026, 11, 9), date(2026, 11, 20))


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_latest_publication_leaves_exactly_ten_working_days(consideration: date) -> None:
    latest = latest_publication(consideration, HOLIDAYS)
    between = [latest + timedelta(days=n) for n in range(1, (consideration - latest).days + 1)]
    # the days after the publication up to and including the day before consideration hold 9 working
    # days plus the publication day itself counts as the 10th working day before it
    assert is_working_day(latest, HOLIDAYS)
    assert sum(1 for d in between if d < consideration and is_working_day(d, HOLIDAYS)) == 9


def test_the_digest_the_mayor_signs_is_the_documented_one() -> None:
    """A known answer (docs/ledger.md, "Signed decisions"): SHA-256 of the canonical adopted decision."""
    state = DocumentState(
        id="pr-101", number="ПР-101", title="Про програму", initiator="І", rapporteur="Р", text="Текст «з лапками»"
    )
    state.attachments = (Attachment("a.pdf", "ab" * 32, 10, "application/pdf"),)
    state.session, state.vote, state.decision_number = "c8-s45", "v2", "1432"
    assert digest(state).hex() == "83d8f2c204dcabefecb5fde756b6b5690260928ee638d3504265be1e88b721fe"
    state.text += " "
    assert digest(state).hex() != "83d8f2c204dcabefecb5fde756b6b5690260928ee638d3504265be1e88b721fe"
