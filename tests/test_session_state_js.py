"""The screens' copy of the sitting's state (web/session-state.js) is the server's, event for event.

The pages advance the public state themselves with each checked event; if their fold ever drifted
from `evolve` + `to_public` in Python, a screen would show another count than the minutes. Here a
sitting with every kind of event is run through the API, and the page folds the same log from the
first snapshot: at every step its state must equal the server's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import recorded_sitting
from browser_support import Browser, Page
from committees_support import form_committee, schedule_sitting
from conftest import Demo

from session_server import demo as demo_seed
from session_server.domain.commission import commission_context, vote_context
from session_server.domain.council import evolve_council
from session_server.domain.session_state import evolve
from session_server.domain.session_view import to_public
from session_server.store.events import StoredEvent
from voting import commission as cm
from voting import secret as sb
from voting.ballot import from_b64url

SESSION = "c8-s45"


@pytest.fixture
async def page(browser: Browser, demo_council: Demo) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{demo_council.server.url}/static/client-test.html")
        await page.wait_for_function("window.kvorumTest !== undefined", timeout=10_000)
        yield page
    finally:
        await context.close()


FOLD = """async ([snapshot, events, council]) => {
  const { applyEvent, fromSnapshot } = await import("/static/session-state.js");
  const strip = (state) => JSON.parse(JSON.stringify(state, (key, value) => (key.startsWith("_") ? undefined : value)));
  const state = fromSnapshot(snapshot);
  return events.map((event) => strip(applyEvent(state, event, council)));
}"""


async def _run_sitting(demo: Demo, states: list[dict[str, Any]]) -> None:
    """Every kind of event, with the server's state ({seq, state}) recorded after each command."""

    async def step(user: str, type_: str, **fields: Any) -> None:
        await demo.ok(user, type_, **fields)
        states.append(await demo.state())

    await step("secretary", "item.add", number="6", title="Різне", position=2)
    await step("secretary", "item.update", item="i6", title="Різне (оновлено)")
    await step("secretary", "item.remove", item="i5")
    await step("chair", "session.open")
    await step("secretary", "registration.open")
    for n in range(1, 19):
        await step(f"deputy{n:02d}", "presence.register")
    await step("chair", "presence.register")  # the mayor takes part: the composition grows by one
    await step("secretary", "registration.close")
    await step("chair", "item.start", item="i1")
    await step("deputy03", "speaker.request")
    await step("deputy04", "speaker.request")
    await step("chair", "speaker.grant", deputy="d03", seconds=120)
    await step("chair", "speaker.finish")
    await step("deputy05", "conflict.declare", item="i1", reason="родинні зв'язки")
    await step("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    await step("deputy01", "ballot.cast", vote="v1", choice="for")
    await step("deputy01", "ballot.cast", vote="v1", choice="against")  # changed: still one voter
    await step("deputy02", "ballot.cast", vote="v1", choice="abstain")
    await step("chair", "ballot.cast", vote="v1", choice="for")
    await step("chair", "vote.close", vote="v1")
    await step("chair", "vote.open", item="i1", subject="повторно", rule="majority_of_registered", seconds=60)
    await step("chair", "vote.cancel", vote="v2", reason="помилка")
    await step("chair", "item.finish", item="i1")
    proposal = {"number": "7", "title": "Про звернення щодо освітлення", "draft": None}
    await step(
        "chair",
        "vote.open",
        subject="включити",
        rule="majority_of_composition",
        seconds=60,
        purpose="agenda_add",
        proposal=proposal,
    )
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v3", choice="for") for n in range(1, 19)))
    states.append(await demo.state())
    await step("chair", "vote.close", vote="v3")  # adopted: the item joins the agenda
    await step("deputy04", "presence.leave")
    await step("chair", "session.close")


async def test_the_screens_fold_the_log_into_exactly_the_servers_state(page: Page, demo_council: Demo) -> None:
    demo = demo_council
    first = await demo.state()
    states: list[dict[str, Any]] = []
    await _run_sitting(demo, states)
    events = (await demo.client.get(f"/api/v1/sessions/{SESSION}/events?after={first['seq']}")).json()["events"]
    council = (await demo.client.get("/api/v1/council")).json()
    folded = await page.evaluate(FOLD, [first["state"], events, council])
    final = (await demo.state())["state"]
    assert folded[-1] == final
    assert folded[-1]["agenda"][-1]["title"] == "Про звернення щодо освітлення"
    # and after every command, not only at the end: the same state, so the same count on every screen
    assert len(states) > 40
    for read in states:
        assert folded[read["seq"] - first["seq"] - 1] == read["state"], f"differs at seq {read['seq']}"


async def test_a_page_follows_the_open_sitting_else_the_next_one_from_today_never_a_past_scheduled_one(
    page: Page,
) -> None:
    sittings = [
        {"id": "c8-s47", "status": "scheduled", "date": "2020-01-01"},
        {"id": "c8-s46", "status": "scheduled", "date": "2026-12-16"},
        {"id": "c8-s45", "status": "scheduled", "date": "2026-12-02"},
        {"id": "c8-s44", "status": "closed", "date": "2026-11-20"},
    ]
    choose = """async ([sittings, today]) => {
      const { chooseSitting } = await import("/static/signed-in-page.js");
      return chooseSitting(sittings, today);
    }"""
    assert await page.evaluate(choose, [sittings, "2026-12-02"]) == "c8-s45"
    assert await page.evaluate(choose, [sittings, "2026-12-03"]) == "c8-s46"
    assert await page.evaluate(choose, [sittings, "2027-01-01"]) == "c8-s47"  # none ahead: the newest listed
    opened = [{**sittings[1], "status": "open"}, *sittings]
    assert await page.evaluate(choose, [opened, "2026-12-02"]) == "c8-s46"


async def test_the_screens_fold_the_recorded_day_exactly_as_evolve_does(page: Page) -> None:
    events = [StoredEvent.from_leaf(leaf) for leaf in recorded_sitting.recorded()]
    council_events = [e for e in events if e.stream.startswith("council:")]
    sitting_events = [e for e in events if e.stream.startswith("session:")]
    council = None
    for event in council_events:
        council = evolve_council(council, event)
    assert council is not None
    state = evolve(None, sitting_events[0])
    snapshot = to_public(state, council)
    expected = []
    for event in sitting_events[1:]:
        state = evolve(state, event)
        expected.append(to_public(state, council))
    served = [e.as_dict() for e in sitting_events[1:]]
    folded = await page.evaluate(FOLD, [snapshot, served, council.to_public()])
    assert len(folded) == len(expected) == 40
    for event, mine, theirs in zip(sitting_events[1:], expected, folded, strict=True):
        assert theirs == orjson.loads(orjson.dumps(mine)), f"the screens differ after seq {event.seq} ({event.type})"


async def test_a_committee_s_sitting_folds_as_the_server_counts_it_with_half_of_an_even_composition(
    page: Page, demo_council: Demo
) -> None:
    """Art. 47 part 12: a committee of 6 is competent with 3 members registered (not less than half of it);
    the screens' fold states the committee's count as the server does, at every step."""
    demo = demo_council
    await form_committee(demo, "budget", "Постійна комісія з питань бюджету", [f"d{n:02d}" for n in range(1, 7)])
    sitting = await schedule_sitting(demo, "budget", [("Про бюджет", "ПР-102")])
    first = await demo.state(sitting)
    states: list[dict[str, Any]] = []

    async def step(user: str, type_: str, **fields: Any) -> None:
        response = await demo.command(user, type_, session=sitting, **fields)
        assert response.status_code == 200, response.text
        states.append(await demo.state(sitting))

    await step("deputy01", "session.open")
    await step("deputy01", "registration.open")
    for n in (1, 2, 3):
        await step(f"deputy{n:02d}", "presence.register")
    await step("deputy01", "item.start", item="i1")
    await step(
        "deputy01", "vote.open", item="i1", subject="Висновок", kind="conclusion", recommendation="support", seconds=60
    )
    for n in (1, 2, 3):
        await step(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for")
    await step("deputy01", "vote.close", vote="v1")
    final = states[-1]["state"]
    assert (final["quorum"], final["composition"]["quorum"], final["composition"]["statutory"]) == (True, 3, 6)
    assert final["votes"][-1]["tally"]["required"] == 4  # a conclusion: more than half of the composition
    events = (await demo.client.get(f"/api/v1/sessions/{sitting}/events?after={first['seq']}")).json()["events"]
    council = (await demo.client.get("/api/v1/council")).json()
    folded = await page.evaluate(FOLD, [first["state"], events, council])
    for read in states:
        assert folded[read["seq"] - first["seq"] - 1] == read["state"], f"differs at seq {read['seq']}"


async def test_a_secret_vote_folds_as_the_server_counts_it(page: Page, demo_council: Demo) -> None:
    """The counting commission's key, encrypted ballots, the close to ballots, the decryptions and the count:
    the screens' fold equals the server's state at every step (issue 20)."""
    demo = demo_council
    questions = [{"question": "secretary", "title": "Обрання секретаря ради", "citation": "п. 4 ч. 1 ст. 26"}]
    configured = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "secret-questions", "type": "council.configure", "secret_questions": questions},
        headers=await demo.headers("admin"),
    )
    assert configured.status_code == 200, configured.text
    first = await demo.state()
    states: list[dict[str, Any]] = []

    async def step(user: str, type_: str, **fields: Any) -> None:
        await demo.ok(user, type_, **fields)
        states.append(await demo.state())

    await step("chair", "session.open")
    await step("secretary", "registration.open")
    for n in range(1, 19):
        await step(f"deputy{n:02d}", "presence.register")
    await step("chair", "item.start", item="i1")
    members = ["d01", "d02", "d03"]
    await step("chair", "commission.elect", members=members, threshold=2)
    context = commission_context(demo_seed.COUNCIL_ID, SESSION, 1)
    made = {m: cm.commit(context, i, 2) for i, m in enumerate(members, start=1)}
    for m, (_, published) in made.items():
        await step(f"deputy{m[1:]}", "commission.commit", published=published)
    commitments = [cm.check_commitment(context, published, 2) for _, published in made.values()]
    deals = {secret.index: cm.deal(context, secret, commitments) for secret, _ in made.values()}
    for m, (secret, _) in made.items():
        await step(f"deputy{m[1:]}", "commission.deal", published=deals[secret.index])
    for m, (secret, _) in made.items():
        assert cm.receive(context, secret, commitments, deals) == []
        await step(f"deputy{m[1:]}", "commission.ready", published=cm.ready(context, secret))
    fields = {"item": "i1", "subject": "Обрання", "kind": "basis_and_whole", "seconds": 60}
    await step("chair", "vote.open", secret=True, question="secretary", **fields)
    vote = states[-1]["state"]["votes"][-1]
    ballot_context = vote_context(demo_seed.COUNCIL_ID, SESSION, vote["id"])
    for n, choice in ((1, "for"), (2, "against"), (3, "for"), (4, "abstain"), (2, "for")):
        deputy = f"d{n:02d}"
        encrypted = sb.encrypt_ballot(from_b64url(vote["key"]), choice, ballot_context, deputy)
        await step(f"deputy{n:02d}", "ballot.cast", vote=vote["id"], encrypted=encrypted)
    await step("chair", "vote.close", vote=vote["id"])
    product_json = states[-1]["state"]["votes"][-1]["product"]
    product = [sb.Ciphertext(from_b64url(p["a"]), from_b64url(p["b"])) for p in product_json]
    for m in ("d01", "d03"):
        secret = made[m][0]
        assert secret.share is not None
        partial = sb.partial(secret.share, secret.index, product, ballot_context)
        await step(f"deputy{m[1:]}", "decryption.share", vote=vote["id"], decryption=partial)
    final = states[-1]["state"]
    assert final["votes"][-1]["tally"]["for"] == 3 and final["commission"]["stage"] == "keyed"
    events = (await demo.client.get(f"/api/v1/sessions/{SESSION}/events?after={first['seq']}")).json()["events"]
    council = (await demo.client.get("/api/v1/council")).json()
    folded = await page.evaluate(FOLD, [first["state"], events, council])
    for read in states:
        assert folded[read["seq"] - first["seq"] - 1] == read["state"], f"differs at seq {read['seq']}"
