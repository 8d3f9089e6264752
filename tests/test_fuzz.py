"""The API fuzzed from its own OpenAPI document (schemathesis), for a bounded time with a fixed seed:
no answer is a 5xx, and every answer matches what the document says (issue 15, item 11).

The run signs in as the administrator, so every operation is reached past its access check; it runs
against the real server, on a database of its own. Left out: the event stream (it never ends), signing
out (it would revoke the run's own token) and PDF uploads (schemathesis makes no PDF bodies; the
uploads are tested in ``test_documents_api.py``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from conftest import Demo

SCHEMATHESIS = Path(sys.executable).with_name("st")
SEED = 15


@pytest.mark.timeout(400)  # the run's own budget is 120 s; the stateful phase and the start come on top
async def test_fuzzing_the_api_finds_no_5xx_and_no_answer_off_its_document(demo_council: Demo, tmp_path: Path) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")  # a sitting under way: more of the API has something to act on
    admin = await demo.token("admin")
    run = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{demo.server.url}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples",
        "15",
        "--seed",
        str(SEED),
        "--max-time",
        "120",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--exclude-path-regex",
        "(/stream|/auth/logout|/attachments)$",
        "--header",
        f"Authorization: Bearer {admin}",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    out = (await asyncio.wait_for(run.communicate(), 400))[0].decode(errors="replace")
    assert run.returncode == 0, out[-6000:]
