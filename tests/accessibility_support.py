"""axe-core's source as a fixture, and the serious and critical violations axe finds on a page: for the
accessibility audit and the browser tests that run it on their pages.

The file comes from ``KVORUM_AXE`` (``.ci/run`` fetches axe-core with npm into ``.cache/``); without
it the fixture skips, unless KVORUM_REQUIRE_BROWSER=1, where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from browser_support import Page

_AXE = Path(os.environ.get("KVORUM_AXE", Path(__file__).resolve().parent.parent / ".cache/axe-core-4.14.1/axe.min.js"))


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not _AXE.exists():
        if os.environ.get("KVORUM_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"the accessibility audit needs axe-core at {_AXE} (see .ci/run)")
        pytest.skip(f"no axe-core at {_AXE}: npm pack axe-core (see .ci/run)")
    return _AXE.read_text()


async def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """Run axe on the page as it stands; the serious and critical violations, with where they are."""
    await page.evaluate(axe_source)  # through DevTools, so the page's CSP does not apply
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
