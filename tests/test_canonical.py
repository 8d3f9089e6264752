"""Canonical JSON: the fast path must give exactly the bytes of the reference RFC 8785 implementation."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from voting.canonical import canonical

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) - 5, max_value=2**53 + 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=20,
)


def _reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_canonical_bytes_equal_the_reference_for_any_json(value: Any) -> None:
    expected = _reference(value)
    if isinstance(expected, bytes):
        assert canonical(value) == expected
    else:
        with pytest.raises(expected):
            canonical(value)


def test_every_code_point_is_escaped_as_the_reference_does() -> None:
    for start in range(0, 0x110000, 0x800):
        text = "".join(chr(c) for c in range(start, start + 0x800) if not 0xD800 <= c <= 0xDFFF)
        assert canonical({"k": text}) == rfc8785.dumps({"k": text}), hex(start)


def test_keys_beyond_the_basic_plane_sort_by_utf16_as_rfc8785_says() -> None:
    value = {"\U0001f600": 1, "\ue000": 2, "a": 3}
    assert canonical(value) == rfc8785.dumps(value) == '{"a":3,"😀":1,"\ue000":2}'.encode()
