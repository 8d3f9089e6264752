"""The broadcast in real browsers: the operator's page publishes Chromium's fake camera (WHIP), a
resident's live page watches it (WHEP), sees it interrupted, and gets the recording with chapters."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from browser_support import Browser, Page
from conftest import Demo
from playwright.async_api import expect

WAIT_MS = 20_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SESSION = "c8-s45"


_ERRORS: list[Any] = []


@pytest.fixture
async def contexts(browser: Browser, demo_council: Demo) -> AsyncIterator[list[Any]]:
    """Browser contexts closed at the end, before the server; no page may have thrown."""
    opened: list[Any] = []
    _ERRORS.clear()
    try:
        yield opened
    finally:
        for context in opened:
            await context.close()
    assert not _ERRORS, f"uncaught errors in the pages: {_ERRORS}"


async def _page(browser: Browser, contexts: list[Any], url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="uk-UA")
    contexts.append(context)
    page = await context.new_page()
    page.on("pageerror", lambda error: _ERRORS.append(error))
    response = await page.goto(url)
    assert response is not None and response.status == 200
    return page


async def _operator(browser: Browser, contexts: list[Any], base: str) -> Page:
    page = await _page(browser, contexts, f"{base}/broadcast?session={SESSION}")
    await page.fill("input[name=username]", "operator")
    await page.fill("input[name=password]", "demo")
    await page.click("#sign-in-button")
    await expect(page.locator("#start")).to_be_enabled(timeout=WAIT_MS)
    await page.click("#start")
    await expect(page.locator("#broadcast-status")).to_contain_text("В ефірі", timeout=WAIT_MS)
    return page


async def _frames_on_air(demo: Demo, count: int) -> None:
    """The server has encoded `count` frames from the current publisher."""
    studio = demo.server.state.studio
    for _ in range(200):
        broadcast = studio.broadcasts.get(SESSION)
        if broadcast is not None and broadcast.ingest is not None and broadcast.ingest.frames >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not encode {count} frames from the publisher")


async def _playing(page: Page) -> None:
    """The resident's player shows moving pictures: it has a size and its clock advances."""
    await page.wait_for_function(
        "() => { const v = document.getElementById('player'); return v.videoWidth > 0 && v.currentTime > 1; }",
        timeout=WAIT_MS,
    )


async def test_a_browser_publishes_and_another_watches_then_gets_the_recording_with_chapters(
    browser: Browser, contexts: list[Any], demo_council: Demo
) -> None:
    base = demo_council.server.url
    resident = await _page(browser, contexts, f"{base}/live/{SESSION}")
    await expect(resident.locator("#video-placeholder")).to_have_text("Трансляція ще не розпочалася", timeout=WAIT_MS)

    operator = await _operator(browser, contexts, base)
    await _playing(resident)
    await _frames_on_air(demo_council, 60)
    await expect(resident.locator("#viewers")).to_have_text("Дивляться: 1", timeout=WAIT_MS)
    # The chamber's sound comes too (Chromium's fake microphone beeps); the resident turns it on.
    await resident.wait_for_function(
        "() => document.getElementById('player').srcObject?.getAudioTracks().length === 1", timeout=WAIT_MS
    )
    sound = resident.locator("#sound")
    await expect(sound).to_have_text("Увімкнути звук")
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "true")
    assert await resident.evaluate("document.getElementById('player').muted") is False
    ARTIFACTS.mkdir(exist_ok=True)
    await resident.screenshot(path=str(ARTIFACTS / "live-video.png"))
    await demo_council.ok("chair", "session.open")
    await demo_council.ok("chair", "item.start", item="i1")

    console = await _page(browser, contexts, f"{base}/console?session={SESSION}")  # the secretary sees it too
    await console.fill("input[name=username]", "secretary")
    await console.fill("input[name=password]", "demo")
    await console.click("#sign-in-button")
    await expect(console.locator("#broadcast-status")).to_have_text("Трансляція в ефірі.", timeout=WAIT_MS)
    await expect(console.locator("#broadcast-link")).to_have_attribute("href", f"/broadcast?session={SESSION}")

    await operator.context.close()  # the operator's laptop loses the network: no DELETE
    await expect(resident.locator("#video-placeholder")).to_have_text(
        "Трансляцію перервано. Чекаємо на відновлення…", timeout=WAIT_MS
    )
    await expect(console.locator("#broadcast-status")).to_have_text("Трансляцію перервано.", timeout=WAIT_MS)

    operator = await _operator(browser, contexts, base)  # back on air; the resident did nothing
    await expect(resident.locator("#video")).to_have_attribute("data-status", "live", timeout=WAIT_MS)
    await _frames_on_air(demo_council, 60)
    await operator.click("#stop")
    await expect(operator.locator("#broadcast-status")).to_contain_text("Трансляцію завершено", timeout=WAIT_MS)

    # The resident's page now offers the recording, with the item as a chapter to jump to.
    chapter = resident.locator("#chapters button")
    await expect(chapter).to_have_count(1, timeout=WAIT_MS)
    title = (await demo_council.state())["state"]["agenda"][0]["title"]
    await expect(chapter).to_contain_text(title)
    await expect(resident.locator("#player")).to_have_attribute("src", f"/live/{SESSION}/recording.mp4")
    await resident.screenshot(path=str(ARTIFACTS / "live-recording.png"))
    recording = demo_council.server.state.studio.folder(SESSION) / "recording.mp4"
    with av.open(str(recording)) as mp4:
        assert sorted(s.codec_context.name for s in mp4.streams) == ["aac", "h264"]
    await chapter.click()
    start = (await demo_council.client.get(f"/api/v1/sessions/{SESSION}/chapters")).json()["chapters"][0]["start"]
    await resident.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {start}) < 1.5", timeout=WAIT_MS
    )


async def test_a_resident_over_the_webrtc_cap_watches_hls_even_where_the_browser_cannot_play_it(
    browser: Browser, contexts: list[Any], demo_council: Demo
) -> None:
    studio = demo_council.server.state.studio
    studio.config = dataclasses.replace(studio.config, max_viewers=0)  # every WebRTC place is taken
    base = demo_council.server.url
    operator = await _operator(browser, contexts, base)
    await _frames_on_air(demo_council, 150)  # a few segments in the playlist
    # A browser without HLS of its own (Firefox): the page loads hls.js and plays through MSE.
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="uk-UA")
    contexts.append(context)
    await context.add_init_script(
        "HTMLMediaElement.prototype.canPlayType = function (type) { return type.includes('mpegurl') ? '' : 'maybe'; };"
    )
    resident = await context.new_page()
    resident.on("pageerror", lambda error: _ERRORS.append(error))
    hls_js = []
    resident.on("request", lambda request: hls_js.append(request.url) if "hls.js" in request.url else None)
    await resident.goto(f"{base}/live/{SESSION}")
    await _playing(resident)
    assert hls_js and await resident.evaluate("document.getElementById('player').src.startsWith('blob:')")
    await operator.click("#stop")


STUN = "stun:127.0.0.1:3478"


@pytest.fixture
def browsers_stun(monkeypatch: pytest.MonkeyPatch) -> str:
    """KVORUM_BROWSER_ICE_SERVERS for the server the test starts after this (nobody answers it here: the
    browser waits for it a moment and connects on the LAN's addresses, as in the chamber)."""
    monkeypatch.setenv("KVORUM_BROWSER_ICE_SERVERS", STUN)
    return STUN


async def test_the_pages_give_the_browsers_the_stun_server_the_server_names(
    browsers_stun: str, browser: Browser, contexts: list[Any], demo_council: Demo
) -> None:
    base = demo_council.server.url
    status = (await demo_council.client.get(f"/api/v1/sessions/{SESSION}/broadcast")).json()
    assert status["ice_servers"] == [{"urls": browsers_stun}]
    operator = await _operator(browser, contexts, base)
    resident = await _page(browser, contexts, f"{base}/live/{SESSION}")
    await _playing(resident)  # the live page watches over WebRTC with it
    # What the pages' module gives its peer connections (the live page's and the operator's are made alike).
    servers = await resident.evaluate(
        """async (session) => {
            const { watch } = await import("/static/video.js");
            const watching = await watch(document.createElement("video"), session);
            const servers = watching.pc.getConfiguration().iceServers;
            watching.close();
            return servers;
        }""",
        SESSION,
    )
    assert [server["urls"] for server in servers] in ([browsers_stun], [[browsers_stun]])
    await operator.click("#stop")
    await expect(operator.locator("#broadcast-status")).to_contain_text("Трансляцію завершено", timeout=WAIT_MS)
