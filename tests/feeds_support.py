"""A decision adopted, signed with an Ed25519 key and published (what the Atom feed, the portal and the
webhooks carry), the Atom namespace, and a POST to the API that must succeed."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from conftest import Demo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal_bridge.documents import digest, evolve_document
from portal_bridge.signatures import ED25519, ed25519_sign
from session_server.domain.events import RecordedEvent

ATOM = "{http://www.w3.org/2005/Atom}"


async def _post(demo: Demo, user: str, path: str, body: dict[str, Any]) -> Any:
    response = await demo.client.post(f"/api/v1{path}", json=body, headers=await demo.headers(user))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _published_decision(demo: Demo) -> None:
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    await _post(
        demo, "admin", "/council/commands", {"id": "k", "type": "council.configure", "signer_keys": {"m": public}}
    )
    doc = {"document": "pr-101", "number": "ПР-101", "title": "Про бюджет участі", "initiator": "І", "rapporteur": "Р"}
    await _post(demo, "secretary", "/documents", {"id": "r", **doc})
    today = date.today()
    path = "/documents/pr-101/commands"
    await _post(
        demo,
        "secretary",
        path,
        {"id": "p", "type": "document.publish_draft", "date": (today - timedelta(days=30)).isoformat()},
    )
    schedule = {"id": "s", "type": "document.schedule", "session": "c8-s45", "item": "i1", "date": today.isoformat()}
    await _post(demo, "secretary", path, schedule)
    outcome = {"id": "o", "type": "document.record_outcome", "session": "c8-s45", "vote": "v1", "outcome": "adopted"}
    await _post(demo, "admin", path, {**outcome, "decision_number": "77-VIII"})
    state: Any = None
    for event in await demo.server.kvorum.store.read("document:pr-101"):
        state = evolve_document(state, RecordedEvent(event.type, event.payload, event.seq, event.at))
    sign = {
        "id": "g",
        "type": "document.sign",
        "algorithm": ED25519,
        "key_id": "m",
        "signature": ed25519_sign(key, digest(state)),
    }
    await _post(demo, "chair", path, sign)
    await _post(demo, "secretary", path, {"id": "pub", "type": "document.publish", "date": today.isoformat()})
