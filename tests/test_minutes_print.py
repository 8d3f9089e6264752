"""The minutes printed to PDF by Chromium, as the council's secretary prints them to sign: A4 pages with
margins, page numbers, each vote's heading on the same page as its numbers and outcome, the signature
lines at the end. The PDF and a PNG of each page land in test-artifacts/ to look at.

Needs Debian's chromium (tests/browser_support.py) and poppler-utils (``pdftoppm``, ``pdftotext``,
``pdfinfo``): without them the module skips, unless KVORUM_REQUIRE_BROWSER=1, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser_support import Browser
from conftest import Demo
from minutes_support import SESSION, hold_sitting

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
POPPLER = ("pdftoppm", "pdftotext", "pdfinfo")

if any(shutil.which(tool) is None for tool in POPPLER):
    if os.environ.get("KVORUM_REQUIRE_BROWSER") == "1":
        raise RuntimeError("the minutes' print test needs poppler-utils: apt-get install -y poppler-utils")
    pytest.skip("no pdftoppm/pdftotext/pdfinfo: apt-get install -y poppler-utils", allow_module_level=True)


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, timeout=60).stdout


async def test_the_minutes_print_on_a4_with_page_numbers_votes_kept_whole_and_signature_lines(
    browser: Browser, demo_council: Demo
) -> None:
    await hold_sitting(demo_council)
    context = await browser.new_context(locale="uk-UA", viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        errors: list[Exception] = []
        page.on("pageerror", lambda error: errors.append(error))
        response = await page.goto(f"{demo_council.server.url}/sessions/{SESSION}/minutes")
        assert response is not None and response.status == 200
        await page.wait_for_load_state("load")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "minutes-screen.png")  # as a resident reads it on screen
        pdf = await page.pdf(format="A4")
        assert errors == []
    finally:
        await context.close()

    for old in ARTIFACTS.glob("minutes-[0-9]*.png"):
        old.unlink()
    path = ARTIFACTS / "minutes.pdf"
    path.write_bytes(pdf)
    _run("pdftoppm", "-png", "-r", "60", path, ARTIFACTS / "minutes")

    info = _run("pdfinfo", path)
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    assert re.search(r"^Page size:\s+59[56]\.\d+ x 84[12]\.\d+ pts \(A4\)", info, re.M), info
    assert 3 <= pages <= 12, pages  # four roll calls of 34–35 lines in two columns, not one line a page
    assert len(list(ARTIFACTS.glob("minutes-[0-9]*.png"))) == pages

    texts = _run("pdftotext", "-layout", path, "-").split("\f")[:pages]
    whole = "\n".join(texts)
    assert (
        re.sub(r"\s+", " ", texts[0])
        .strip()
        .startswith("ВОЗНЕСЕНСЬКА МІСЬКА РАДА ПРОТОКОЛ пленарного засідання 45 сесії VIII скликання")
    )
    assert whole.count("скликання") == 1
    # Items numbered once, in the agenda and in their own parts: no list marker before the item's number.
    assert re.search(r"^\s*1\. Про затвердження міської програми", whole, re.M)
    assert re.search(r"^\s*2\. СЛУХАЛИ: Про внесення змін до міського бюджету", whole, re.M)
    assert not re.search(r"\b(\d+)\.\s+\1\.", whole)
    for number, text in enumerate(texts, start=1):  # «стор. N з M» at the foot of every page
        assert f"стор. {number} з {pages}" in text, number
    for vote in range(1, 7):  # a vote's heading never parted from its numbers and outcome
        heading = f"ГОЛОСУВАЛИ (голосування {vote})"
        [page_text] = [t for t in texts if heading in t]
        after = page_text.split(heading, 1)[1]
        assert "ВИРІШИЛИ" in after or "скасовано" in after, vote
    last = re.sub(r"\s+", " ", texts[-1])
    assert "Міський голова" in last and "Михайло Степаненко" in last and "Секретар ради" in last
    assert last.index("Секретар ради") > last.index("Михайло Степаненко")
