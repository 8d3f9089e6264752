"""The pages under test in headless Chromium, for ``benchmarks.display``: the instrumentation run inside them.

Everything measured in a page is stamped there (``performance.timeOrigin + performance.now()``, wall
clock in ms), so Playwright's round trips are never part of a figure.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Browser, Page, Request

SESSION = "c8-s45"
STEP_SECONDS = 30  # the longest any one request or page wait may take
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# ---- the chamber display -----------------------------------------------------------------------

# Stamps each vote.closed message as the page's EventSource dispatches it, before the app's own
# listener (added later) runs; parsing waits until the round is over, so the stamp costs nothing.
STAMP_EVENTS = """(() => {
  const Native = window.EventSource;
  window.__closedAt = [];
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("vote.closed", (m) => {
        window.__closedAt.push([performance.timeOrigin + performance.now(), m.data]);
      });
    }
  };
})();"""

ARM = """([key]) => {
  const shown = () =>
    document.getElementById("roll-call").dataset.vote === key && !document.getElementById("results-panel").hidden;
  window.__result = new Promise((resolve) => {
    const done = () => {
      const dom = performance.timeOrigin + performance.now();
      requestAnimationFrame(() => resolve({ dom, frame: performance.timeOrigin + performance.now() }));
    };
    if (shown()) return done();
    const observer = new MutationObserver(() => { if (shown()) { observer.disconnect(); done(); } });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}"""

COLLECT = """([vote]) => window.__result.then((r) => {
  const hit = window.__closedAt.find(([, data]) => JSON.parse(data).payload.vote === vote);
  return { ...r, sse: hit ? hit[0] : null };
})"""

SHOWING_VOTE = """([subject, count]) => document.getElementById("main").dataset.mode === "vote"
  && document.getElementById("vote-heading").textContent.includes(subject)
  && document.getElementById("voted").textContent.endsWith(" " + count)"""


async def open_display(browser: Browser, base: str, errors: list[str], session: str = SESSION) -> Page:
    """``/display/<session>`` (the plenary's, c8-s45, unless told) at 1920×1080, connected, with every
    ``vote.closed`` stamped as it arrives."""
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="uk-UA")
    await context.add_init_script(script=STAMP_EVENTS)
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    await page.goto(f"{base}/display/{session}", timeout=STEP_SECONDS * 1000)
    await page.wait_for_selector("#connection[data-status=open]", timeout=STEP_SECONDS * 1000)
    return page


async def wait_showing(page: Page, subject: str, ballots: int) -> None:
    """Until the display shows the open vote on ``subject`` with ``ballots`` votes counted."""
    await page.wait_for_function(SHOWING_VOTE, arg=[subject, ballots], timeout=STEP_SECONDS * 1000)


async def arm(page: Page, vote: str) -> None:
    """Watch for the result of ``vote``; returns once the watch is in place."""
    await page.evaluate(ARM, [f"uk:{vote}"])


async def shown(page: Page, vote: str) -> dict[str, Any]:
    """``{"dom", "frame", "sse"}``: when the armed result was in the DOM, its next frame, its SSE message (ms)."""
    stamps: dict[str, Any] = await asyncio.wait_for(page.evaluate(COLLECT, [vote]), STEP_SECONDS)
    return stamps


async def clocks(page: Page) -> str:
    """How the page's clock compares with ``Date.now()`` and this process's (the tightest of 5 round trips)."""
    samples = []
    for _ in range(5):
        before = time.time()
        page_now, date_now = await page.evaluate("[performance.timeOrigin + performance.now(), Date.now()]")
        samples.append((time.time() - before, page_now / 1000 - before, page_now - date_now))
    trip, offset, vs_date = min(samples)
    return (
        f"page timeOrigin+now − Date.now() {vs_date:+.1f} ms; page − this process between "
        f"{(offset - trip) * 1000:+.1f} and {offset * 1000:+.1f} ms (one evaluate round trip)"
    )


# ---- the tablet's first load -------------------------------------------------------------------

# On the tablet: milliseconds from navigation start until the sign-in form is shown.
WATCH_SIGN_IN = """(() => {
  window.__interactive = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const form = document.getElementById("sign-in");
      if (form && !form.hidden) { observer.disconnect(); resolve(performance.now()); }
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["hidden"] });
  });
})();"""


@dataclass(frozen=True, slots=True)
class Load:
    """One first load of ``/tablet`` in a fresh browser context."""

    interactive: float  # seconds from navigation start
    body: int  # response bodies as transferred
    headers: int  # response headers
    decoded: int  # response bodies decoded
    responses: int
    gzipped: int  # responses with Content-Encoding
    accept: str  # the Accept-Encoding Chromium sent for the page


async def tablet_load(browser: Browser, base: str) -> Load:
    """Load ``/tablet`` with an empty cache; time to the sign-in form, and every response's size once idle."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="uk-UA")
    try:
        await context.add_init_script(script=WATCH_SIGN_IN)
        page = await context.new_page()
        finished: list[Request] = []
        page.on("requestfinished", lambda request: finished.append(request))
        await page.goto(base + "/tablet", wait_until="commit", timeout=STEP_SECONDS * 1000)
        interactive = float(await asyncio.wait_for(page.evaluate("window.__interactive"), STEP_SECONDS))
        await page.wait_for_load_state("networkidle", timeout=STEP_SECONDS * 1000)
        body = headers = decoded = gzipped = 0
        for request in finished:
            sizes = await request.sizes()
            body += sizes["responseBodySize"]
            headers += sizes["responseHeadersSize"]
            response = await request.response()
            if response is not None:
                decoded += len(await response.body())
                gzipped += bool(await response.header_value("content-encoding"))
        accept = await finished[0].header_value("accept-encoding") if finished else None
        return Load(interactive / 1000, body, headers, decoded, len(finished), gzipped, accept or "none")
    finally:
        await context.close()
