"""A draft with a text for the amendment tests (tests/test_amendments_api.py, test_amendments_browser.py):
registered, published for residents and put on the demo sitting's item i1."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from conftest import Demo

DRAFT = "\n".join(
    [
        "1. Внести зміни до міського бюджету на 2027 рік.",
        "2. Збільшити видатки на ремонт шкіл на 10 млн грн.",
        "3. Фінансовому управлінню внести зміни до розпису.",
        "4. Контроль покласти на комісію з питань бюджету.",
    ]
)


async def document_command(demo: Demo, user: str, command_id: str, type_: str, **fields: Any) -> httpx.Response:
    """A command on the draft pr-101 as ``user``."""
    body = {"id": command_id, "type": type_, **fields}
    return await demo.client.post("/api/v1/documents/pr-101/commands", json=body, headers=await demo.headers(user))


async def scheduled_draft(demo: Demo) -> None:
    """ПР-101 with the text ``DRAFT``, published 30 days ago and on item i1 of the demo sitting today."""
    registered = await demo.client.post(
        "/api/v1/documents",
        json={
            "id": "reg",
            "document": "pr-101",
            "number": "ПР-101",
            "title": "Про внесення змін до міського бюджету",
            "initiator": "Виконавчий комітет",
            "rapporteur": "Олена Бондар",
            "text": DRAFT,
        },
        headers=await demo.headers("secretary"),
    )
    assert registered.status_code == 201, registered.text
    today = date.today()
    for type_, fields in (
        ("document.publish_draft", {"date": (today - timedelta(days=30)).isoformat()}),
        ("document.schedule", {"session": "c8-s45", "item": "i1", "date": today.isoformat()}),
    ):
        answer = await document_command(demo, "secretary", type_, type_, **fields)
        assert answer.status_code == 200, answer.text
