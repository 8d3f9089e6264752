"""An adopted decision awaiting the mayor's signature, and the mayor's signature on it, for the signing tests."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from conftest import Demo

from benchmarks._authenticator import Tablet
from voting.decision import decision_bytes, decision_challenge

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DECISION_NUMBER = "1432-VIII"


async def _ok(demo: Demo, user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await demo.client.post(f"/api/v1{path}", json=body, headers=await demo.headers(user))
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def configure_devices(demo: Demo, origin: str, rp_id: str) -> None:
    """The council's WebAuthn relying party and origin (where the mayor's device signs)."""
    body = {"id": f"cfg-{rp_id}", "type": "council.configure", "signed_ballots": True, "rp_id": rp_id}
    await _ok(demo, "admin", "/council/commands", {**body, "origins": [origin]})


async def adopted_decision(
    demo: Demo,
    document: str = "pr-101",
    title: str = "Про програму «Цифрова громада»",
    decision_number: str = DECISION_NUMBER,
    text: str = "Міська рада вирішила: затвердити програму «Цифрова громада» на 2027–2029 роки.",
) -> None:
    """A draft with its PDF, published, put on the agenda and adopted by the vote (as the server records it)."""
    number = document.upper().replace("PR", "ПР")
    await _ok(demo, "secretary", "/documents", {"id": f"reg-{document}", "document": document, "number": number,
                                                "title": title, "initiator": "Виконавчий комітет",
                                                "rapporteur": "Олена Бондар", "text": text})  # fmt: skip
    attached = await demo.client.post(
        f"/api/v1/documents/{document}/attachments?name=рішення.pdf",
        content=PDF,
        headers={**await demo.headers("secretary"), "Content-Type": "application/pdf"},
    )
    assert attached.status_code == 201, attached.text
    path = f"/documents/{document}/commands"
    today = date.today()
    published = (today - timedelta(days=30)).isoformat()
    await _ok(demo, "secretary", path, {"id": f"pub-{document}", "type": "document.publish_draft", "date": published})
    schedule = {"session": "c8-s45", "item": "i1", "date": today.isoformat()}
    await _ok(demo, "secretary", path, {"id": f"sch-{document}", "type": "document.schedule", **schedule})
    outcome = {"session": "c8-s45", "vote": "v1", "outcome": "adopted", "decision_number": decision_number}
    await _ok(demo, "admin", path, {"id": f"out-{document}", "type": "document.record_outcome", **outcome})


async def signing_bytes(demo: Demo, document: str) -> bytes:
    """What the mayor's device signs for ``document``, from the public council and document."""
    council = (await demo.client.get("/api/v1/council")).json()
    state = (await demo.client.get(f"/api/v1/documents/{document}")).json()
    return decision_bytes(
        council=council["id"], document=document, decision_number=state["decision_number"], digest=state["digest"]
    )


async def sign_on(demo: Demo, tablet: Tablet, document: str, *, user: str = "chair", **options: Any) -> Any:
    """``document.sign`` by ``user`` with ``tablet``'s assertion over the decision (``options`` spoil it)."""
    challenge = decision_challenge(options.pop("data", None) or await signing_bytes(demo, document))
    assertion = tablet.sign(b"", challenge=challenge, **options)
    command_id = "sign-" + hashlib.sha256(repr(assertion).encode()).hexdigest()[:16]
    body = {"id": command_id, "type": "document.sign", "algorithm": "webauthn", "assertion": assertion}
    return await demo.client.post(f"/api/v1/documents/{document}/commands", json=body, headers=await demo.headers(user))
