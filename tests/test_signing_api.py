"""The mayor signs an adopted decision on the enrolled device, over HTTP on a real server and PostgreSQL;
the decision page shows it verified, and ``kvorum verify`` re-checks it offline from the decision's export.
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Demo
from signed_support import ORIGIN, RP_ID, Chamber
from signing_support import DECISION_NUMBER, adopted_decision, configure_devices, sign_on, signing_bytes

from portal_bridge.decision_audit import audit_decision
from session_server.cli import main
from session_server.domain.audit import Discrepancy
from voting.canonical import canonical, seal


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
async def mayor(demo_council: Demo) -> Chamber:
    """The council's devices on ORIGIN; the mayor's device and deputy d01's enrolled; pr-101 adopted."""
    chamber = Chamber(demo_council)
    await configure_devices(demo_council, ORIGIN, RP_ID)
    for member in ("mayor", "d01"):
        enrolled = await chamber.enroll(member)
        assert enrolled.status_code == 201, enrolled.text
    await adopted_decision(demo_council)
    return chamber


async def _document(demo: Demo, document: str = "pr-101") -> dict[str, Any]:
    response = await demo.client.get(f"/api/v1/documents/{document}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_mayor_signs_on_the_enrolled_device_and_the_page_shows_it_verified(mayor: Chamber) -> None:
    demo = mayor.demo
    before = await _document(demo)
    assert before["status"] == "adopted" and re.fullmatch(r"[0-9a-f]{64}", before["digest"])
    assert before["signature"] is None

    signed = await sign_on(demo, mayor.tablets["mayor"], "pr-101")
    assert signed.status_code == 200, signed.text
    [event] = signed.json()["events"]
    assert event["type"] == "decision.signed"
    p = event["payload"]
    assert (p["signer"], p["algorithm"], p["key_id"]) == ("mayor", "webauthn", mayor.tablets["mayor"].credential)
    assert (p["council"], p["document"], p["decision_number"], p["digest"]) == (
        "voznesensk",
        "pr-101",
        DECISION_NUMBER,
        before["digest"],
    )

    after = await _document(demo)
    assert after["status"] == "signed"
    check = after["signature"]["check"]
    assert check["verified"] is True and check["problem"] is None
    council = (await demo.client.get("/api/v1/council")).json()
    assert check["signer_name"] == next(d["name"] for d in council["deputies"] if d["mayor"])
    assert check["key_id"] == mayor.tablets["mayor"].credential

    page = _text((await demo.client.get("/decisions/pr-101")).text)
    device = mayor.tablets["mayor"].credential[:8]
    assert re.search(
        rf"✓ Підпис міського голови перевірено: пристрій {re.escape(device)}… \(зареєстровано \d+ \w+ \d{{4}} р\., "
        rf"\d\d:\d\d\), дата \d+ \w+ \d{{4}} р\., \d\d:\d\d\.",
        page,
    ), page
    site = demo.server.url.replace("127.0.0.1", "localhost")  # the address it listens on, never the Host header
    assert f"kvorum verify {site}/api/v1/documents/pr-101 --keys-url" in page
    published = await demo.client.post(
        "/api/v1/documents/pr-101/commands",
        json={"id": "publish", "type": "document.publish", "date": "2026-12-02"},
        headers=await demo.headers("secretary"),
    )
    assert published.status_code == 200, published.text  # a decision signed on the device is published


async def test_signatures_the_council_must_not_accept_are_refused_and_leave_the_decision_unsigned(
    mayor: Chamber,
) -> None:
    demo = mayor.demo
    tablet = mayor.tablets["mayor"]
    refusals = [
        (await sign_on(demo, mayor.tablets["d01"], "pr-101"), 403, "credential_not_yours"),
        (await sign_on(demo, tablet, "pr-101", user_verified=False), 403, "user_not_verified"),
        (await sign_on(demo, tablet, "pr-101", origin="https://evil.example"), 403, "origin_mismatch"),
        (await sign_on(demo, tablet, "pr-101", data=b'{"another":"decision"}'), 403, "challenge_mismatch"),
        (await sign_on(demo, tablet, "pr-101", user="deputy01"), 403, "forbidden"),
    ]
    assert [(r.status_code, r.json()["error"]) for r, _, _ in refusals] == [(s, c) for _, s, c in refusals]

    revoked = await mayor.council_command(
        "secretary", "credential.revoke", credential=tablet.credential, reason="Пристрій загублено"
    )
    assert revoked.status_code == 200, revoked.text
    refused = await sign_on(demo, tablet, "pr-101")
    assert (refused.status_code, refused.json()["error"]) == (403, "credential_revoked")

    malformed = await demo.client.post(
        "/api/v1/documents/pr-101/commands",
        json={"id": "bad", "type": "document.sign", "algorithm": "webauthn"},
        headers=await demo.headers("chair"),
    )
    assert (malformed.status_code, malformed.json()["error"]) == (400, "invalid_request")
    document = await _document(demo)
    assert document["status"] == "adopted" and document["signature"] is None
    events = await demo.server.kvorum.store.read("document:pr-101")
    assert "decision.signed" not in [e.type for e in events]


async def test_kvorum_verify_accepts_the_decisions_export_and_names_each_tampering(
    mayor: Chamber, tmp_path: Path, capsys: Any
) -> None:
    demo = mayor.demo
    assert (await sign_on(demo, mayor.tablets["mayor"], "pr-101")).status_code == 200
    response = await demo.client.get("/api/v1/documents/pr-101/export")
    assert response.status_code == 200, response.text
    export: dict[str, Any] = response.json()
    assert export["format"] == "kvorum-decision-v1" and export["document"] == "pr-101"

    path = tmp_path / "decision.json"
    path.write_bytes(orjson.dumps(export))
    assert await asyncio.to_thread(main, ["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK  voznesensk / decision {DECISION_NUMBER} (pr-101)")
    assert f"on the mayor's enrolled device {mayor.tablets['mayor'].credential}" in out
    keys_url = f"{demo.server.url}/.well-known/kvorum/keys"
    for url in (f"{demo.server.url}/api/v1/documents/pr-101", f"{demo.server.url}/decisions/pr-101"):
        assert await asyncio.to_thread(main, ["verify", url, "--keys-url", keys_url]) == 0
        assert "OK" in capsys.readouterr().out

    events = [orjson.loads(base64.b64decode(leaf)) for leaf in export["document_events"]]

    def resealed(index: int, change: dict[str, Any]) -> dict[str, Any]:
        """The export with one event's payload changed and the chain sealed again, as a forger would."""
        forged, prev = [], bytes(32)
        for n, event in enumerate(events):
            payload = {**event["payload"], **change} if n == index else event["payload"]
            fields = {k: event[k] for k in ("stream", "seq", "type", "actor", "at")}
            digest, leaf = seal(prev, **fields, payload=payload)
            forged.append(base64.b64encode(leaf).decode())
            prev = bytes.fromhex(digest)
        return {**export, "document_events": forged}

    edited = dict(events[0], payload={**events[0]["payload"], "text": "Продати міський парк."})
    in_place = [base64.b64encode(canonical(edited)).decode(), *export["document_events"][1:]]
    signed = [e["type"] for e in events].index("decision.signed")
    assertion = dict(events[signed]["payload"]["assertion"])
    signature = bytearray(base64.urlsafe_b64decode(assertion["signature"] + "=="))
    signature[-1] ^= 1
    assertion["signature"] = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
    council_ledger = export["council_ledger"]
    cases = {
        "event 0 (seq 1): the hash does not chain": {**export, "document_events": in_place},
        "the signed digest is not the decision's": resealed(0, {"text": "Продати міський парк."}),
        "the mayor's signature: signature_invalid": resealed(signed, {"assertion": assertion}),
        "names another signer": resealed(signed, {"signer": "d01"}),
        "not a kvorum-decision-v1 file": {**export, "format": "kvorum-ledger-v1"},
        "council ledger: no signed checkpoint": {**export, "council_ledger": {**council_ledger, "checkpoints": []}},
    }
    for expected, forged in cases.items():
        with pytest.raises(Discrepancy, match=re.escape(expected)):
            audit_decision(forged)
    path.write_bytes(orjson.dumps(resealed(0, {"title": "Про продаж парку"})))
    assert await asyncio.to_thread(main, ["verify", str(path)]) == 1
    assert "signed digest is not the decision's" in capsys.readouterr().err


async def test_the_challenge_a_page_computes_is_the_one_the_server_checks(mayor: Chamber) -> None:
    """The signed bytes are public: anyone rebuilds them from GET /council and GET /documents/{id}."""
    data = await signing_bytes(mayor.demo, "pr-101")
    document = await _document(mayor.demo)
    assert orjson.loads(data) == {
        "v": 1,
        "council": "voznesensk",
        "document": "pr-101",
        "decision_number": DECISION_NUMBER,
        "digest": document["digest"],
    }
