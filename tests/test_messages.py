"""Every error code the server can answer has a human sentence in web/messages.js, Ukrainian and English.

The codes are gathered from the server's code itself: the domain's list, and every code literal given
to an error type, an error reply or a refusal. A new code without a sentence fails here, before a
person ever sees raw developer English.
"""

from __future__ import annotations

import re
from pathlib import Path

from session_server.domain.errors import CODES

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "web" / "messages.js"

_CODE = r'"([a-z]+(?:_[a-z]+)+|[a-z]+)"'
_PATTERNS = [
    # SomethingError("code", …) or ApiError(404, "code", …)
    re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Refused|Unavailable)\(\s*(?:\d+,\s*)?" + _CODE),
    re.compile(r"\berror_response\(\s*\d+,\s*" + _CODE),
    re.compile(r"\b_error\([^\n]*?,\s*" + _CODE),
    re.compile(r'"error":\s*' + _CODE),
    re.compile(r"\bcode\s*=\s*" + _CODE),
    re.compile(r"\breturn\s+" + _CODE + r",\s"),  # a refusal given as (code, message)
    re.compile(r"\d{3}:\s*" + _CODE),  # status → code maps
]


def server_codes() -> set[str]:
    codes = set(CODES)
    for package in ("session_server", "portal_bridge", "streaming", "voting"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for pattern in _PATTERNS:
                codes.update(pattern.findall(text))
    return codes


def catalogue(lang: str) -> dict[str, str]:
    text = CATALOGUE.read_text()
    start = text.index(f"  {lang}: {{")
    block = text[start : text.index("\n  },", start)]
    return dict(re.findall(r'^\s+([A-Za-z_]+): "([^"]*)",$', block, re.MULTILINE))


def test_the_scan_finds_the_codes_it_should() -> None:
    # If the patterns stopped matching, the test below would pass for nothing.
    codes = server_codes()
    for code in ("invalid_request", "token_expired", "sign_in_revoked", "too_many_commands", "store_unavailable"):
        assert code in codes
    assert "not_found" in codes and "malformed_json" in codes


def test_every_server_error_code_has_a_sentence_in_both_languages() -> None:
    uk, en = catalogue("uk"), catalogue("en")
    missing = {lang: sorted(server_codes() - set(texts)) for lang, texts in (("uk", uk), ("en", en))}
    assert missing == {"uk": [], "en": []}


def test_the_two_languages_say_the_same_things_and_speak_correct_ukrainian() -> None:
    uk, en = catalogue("uk"), catalogue("en")
    assert set(uk) == set(en)
    for code, text in uk.items():
        assert text and text[0].isupper() and text.endswith((".", "»")), (code, text)
        assert "невірн" not in text.lower(), (code, text)  # «неправильне», not «невірне»
        assert not re.search(r"[A-Za-z]{4,}", text.replace("https", "").replace("PIN", "").replace("PDF", "")), (
            code,
            text,
        )
