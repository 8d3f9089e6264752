"""Signed ballots end to end: enrollment of tablets, WebAuthn ballots and every way one is refused.

A real server and PostgreSQL; soft-webauthn authenticators (user-verified) on the deputies' side;
py_webauthn and our own checks on the server side.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from conftest import Demo
from signed_support import ORIGIN, PRESENT, RP_ID, Chamber

from benchmarks._authenticator import Tablet
from session_server import demo
from voting.ballot import ballot_bytes, nonce_for


async def refused(chamber: Chamber, response: httpx.Response, code: str) -> None:
    assert response.json().get("error") == code, response.text
    assert 400 <= response.status_code < 500


async def test_a_signed_ballot_counts_and_its_assertion_is_recorded(chamber: Chamber) -> None:
    vote = await chamber.open_vote()
    response = await chamber.cast("d01", "for")
    assert response.status_code == 200, response.text
    [event] = response.json()["events"]
    assert event["type"] == "ballot.cast"
    assert event["payload"]["choice"] == "for"
    assert event["payload"]["nonce"] == nonce_for(vote["nonce_seed"], "d01", 0)
    assert set(event["payload"]["assertion"]) == {"credential", "authenticator_data", "client_data_json", "signature"}
    assert (await chamber.vote())["voted"] == 1
    council = (await chamber.client.get("/api/v1/council")).json()
    assert council["signed_ballots"] is True
    assert [c["deputy"] for c in council["credentials"]] == PRESENT[:4]


async def test_an_unsigned_ballot_is_refused_where_signatures_are_required(chamber: Chamber) -> None:
    vote = await chamber.open_vote()
    response = await chamber.demo.command("deputy01", "ballot.cast", vote=vote["id"], choice="for")
    await refused(chamber, response, "signature_required")
    assert (await chamber.vote())["voted"] == 0


async def test_each_forged_or_misused_ballot_is_refused_with_its_own_code(chamber: Chamber) -> None:
    vote = await chamber.open_vote()
    tablet = chamber.tablets["d01"]

    # the choice changed after the deputy signed "against"
    data, nonce = chamber.ballot("d01", vote, "against")
    assertion = tablet.sign(data)
    changed = await chamber.demo.command(
        "deputy01", "ballot.cast", vote=vote["id"], choice="for", nonce=nonce, assertion=assertion
    )
    await refused(chamber, changed, "challenge_mismatch")

    await refused(chamber, await chamber.cast("d01", "for", user_verified=False), "user_not_verified")
    await refused(chamber, await chamber.cast("d01", "for", origin="https://evil.example"), "origin_mismatch")
    await refused(chamber, await chamber.cast("d01", "for", rp_id="evil.example"), "rp_id_mismatch")
    # deputy 05 has no device of their own and uses deputy 02's tablet
    await refused(chamber, await chamber.cast("d05", "for", tablet=chamber.tablets["d02"]), "credential_not_yours")
    stranger = Tablet(ORIGIN)
    stranger.register({"rp": {"id": RP_ID}, "user": {"id": "ZDAx"}, "challenge": "AA"})
    await refused(chamber, await chamber.cast("d01", "for", tablet=stranger), "unknown_credential")
    assert (await chamber.vote())["voted"] == 0

    data, nonce = chamber.ballot("d01", vote, "for")
    signed = {"vote": vote["id"], "choice": "for", "nonce": nonce, "assertion": tablet.sign(data)}
    accepted = await chamber.demo.command("deputy01", "ballot.cast", **signed)
    assert accepted.status_code == 200, accepted.text
    # the same signed ballot again under a new command id: the assertion is replayed, its nonce is spent
    await refused(chamber, await chamber.demo.command("deputy01", "ballot.cast", **signed), "nonce_used")
    assert (await chamber.vote())["voted"] == 1


async def test_a_sign_count_going_backwards_is_refused(chamber: Chamber) -> None:
    await chamber.open_vote()
    assert (await chamber.cast("d01", "for")).status_code == 200
    chamber.tablets["d01"].sign_count = 0  # a clone of the authenticator, counting from scratch
    await refused(chamber, await chamber.cast("d01", "against", index=1), "sign_count_regressed")
    state = await chamber.vote()
    assert state["voted"] == 1


async def test_a_nonce_from_another_vote_is_refused(chamber: Chamber) -> None:
    first = await chamber.open_vote()
    await chamber.demo.ok("chair", "vote.close", vote=first["id"])
    second = await chamber.open_vote()
    old_nonce = nonce_for(first["nonce_seed"], "d01", 0)
    data = ballot_bytes(
        council=demo.COUNCIL_ID,
        session=demo.SESSION_ID,
        vote=second["id"],
        item="i1",
        deputy="d01",
        choice="for",
        nonce=old_nonce,
    )
    assertion = chamber.tablets["d01"].sign(data)
    response = await chamber.demo.command(
        "deputy01", "ballot.cast", vote=second["id"], choice="for", nonce=old_nonce, assertion=assertion
    )
    await refused(chamber, response, "nonce_invalid")
    assert (await chamber.vote())["voted"] == 0


async def test_a_revoked_credential_signs_nothing(chamber: Chamber) -> None:
    await chamber.open_vote()
    revoked = await chamber.council_command(
        "secretary", "credential.revoke", credential=chamber.tablets["d03"].credential, reason="планшет втрачено"
    )
    assert revoked.status_code == 200, revoked.text
    await refused(chamber, await chamber.cast("d03", "for"), "credential_revoked")
    forbidden = await chamber.council_command(
        "deputy04", "credential.revoke", credential=chamber.tablets["d04"].credential, reason="x"
    )
    await refused(chamber, forbidden, "forbidden")
    assert (await chamber.vote())["voted"] == 0


async def test_ballots_before_open_after_close_and_racing_the_close(chamber: Chamber) -> None:
    early = await chamber.demo.command("deputy01", "ballot.cast", vote="v1", choice="for", nonce="x", assertion={})
    await refused(chamber, early, "unknown_vote")
    vote = await chamber.open_vote()
    assert (await chamber.cast("d01", "for")).status_code == 200
    racing = [chamber.cast(m, "against") for m in ("d02", "d03", "d04")]
    close = chamber.demo.command("chair", "vote.close", vote=vote["id"])
    *ballots, closed = await asyncio.gather(*racing, close)
    assert closed.status_code == 200, closed.text
    counted = 1 + sum(1 for r in ballots if r.status_code == 200)
    for r in ballots:
        assert r.status_code == 200 or r.json()["error"] == "vote_closed", r.text
    tally = (await chamber.vote())["tally"]
    assert tally["for"] + tally["against"] == counted
    await refused(
        chamber, await chamber.cast("d04", "for", index=1 if ballots[2].status_code == 200 else 0), "vote_closed"
    )


async def test_non_members_and_conflicted_deputies_cannot_vote(chamber: Chamber) -> None:
    await chamber.demo.ok("deputy02", "conflict.declare", item="i1", reason="родич — підрядник")
    vote = await chamber.open_vote()
    await refused(chamber, await chamber.cast("d02", "for"), "conflict_declared")
    # an account claiming a member id that is not on the council's roster
    await chamber.demo.server.kvorum.accounts.add("outsider", "pw-outsider-x99", "deputy", member="x99")
    outsider = Tablet(ORIGIN)
    outsider.register({"rp": {"id": RP_ID}, "user": {"id": "eDk5"}, "challenge": "AA"})
    data, nonce = chamber.ballot("x99", vote, "for")
    response = await chamber.demo.command(
        "outsider", "ballot.cast", vote=vote["id"], choice="for", nonce=nonce, assertion=outsider.sign(data)
    )
    await refused(chamber, response, "not_a_deputy")
    assert (await chamber.vote())["voted"] == 0


async def test_two_ballots_sent_at_once_by_one_deputy_count_once(chamber: Chamber) -> None:
    vote = await chamber.open_vote()
    tablet = chamber.tablets["d01"]
    sends = []
    for choice in ("for", "against"):
        data, nonce = chamber.ballot("d01", vote, choice)
        sends.append(
            chamber.demo.command(
                "deputy01", "ballot.cast", vote=vote["id"], choice=choice, nonce=nonce, assertion=tablet.sign(data)
            )
        )
    first, second = await asyncio.gather(*sends)
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409], (first.text, second.text)
    loser = first if first.status_code == 409 else second
    assert loser.json()["error"] == "nonce_used"
    assert (await chamber.vote())["voted"] == 1


async def test_a_secret_vote_on_a_question_the_council_does_not_list_is_refused_with_the_reason(
    chamber: Chamber,
) -> None:
    response = await chamber.demo.command(
        "chair", "vote.open", item="i1", subject="таємне", rule="majority_of_composition", seconds=60, secret=True
    )
    await refused(chamber, response, "secret_ballot_not_allowed")
    assert "secret ballots only on" in response.json()["message"]


async def test_enrollment_links_are_single_use_and_need_user_verification(chamber: Chamber) -> None:
    not_verified = await chamber.enroll("d10", user_verified=False)
    assert not_verified.status_code == 400 and not_verified.json()["error"] == "user_not_verified", not_verified.text
    link = await chamber.client.post(
        "/api/v1/enrollments", json={"deputy": "d11"}, headers=await chamber.demo.headers("secretary")
    )
    token = link.json()["token"]
    options = (await chamber.client.post(f"/api/v1/enrollments/{token}/options")).json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    first = await chamber.client.post(f"/api/v1/enrollments/{token}/credential", json=Tablet(ORIGIN).register(options))
    assert first.status_code == 201, first.text
    again = await chamber.client.post(f"/api/v1/enrollments/{token}/credential", json=Tablet(ORIGIN).register(options))
    assert again.status_code == 410 and again.json()["error"] == "enrollment_used"
    unknown = await chamber.client.post("/api/v1/enrollments/not-a-token/options")
    assert unknown.status_code == 404 and unknown.json()["error"] == "enrollment_not_found"
    by_deputy = await chamber.client.post(
        "/api/v1/enrollments", json={"deputy": "d12"}, headers=await chamber.demo.headers("deputy12")
    )
    assert by_deputy.status_code == 403


async def test_a_device_enrolled_for_one_deputy_is_refused_on_anothers_link_which_stays_unused(
    chamber: Chamber,
) -> None:
    assert (await chamber.enroll("d11")).status_code == 201
    taken = chamber.tablets["d11"]
    link = await chamber.client.post(
        "/api/v1/enrollments", json={"deputy": "d12"}, headers=await chamber.demo.headers("secretary")
    )
    token = link.json()["token"]
    options = (await chamber.client.post(f"/api/v1/enrollments/{token}/options")).json()
    taken.cred_init = lambda *_: None  # type: ignore[method-assign]  # present the credential it already holds
    refused_ = await chamber.client.post(f"/api/v1/enrollments/{token}/credential", json=taken.register(options))
    assert refused_.status_code == 409 and refused_.json()["error"] == "credential_in_use", refused_.text
    council = (await chamber.client.get("/api/v1/council")).json()
    assert [c["deputy"] for c in council["credentials"] if c["id"] == taken.credential] == ["d11"]
    own = await chamber.client.post(f"/api/v1/enrollments/{token}/credential", json=Tablet(ORIGIN).register(options))
    assert own.status_code == 201 and own.json()["deputy"] == "d12"  # the link was not burnt


async def test_the_council_can_refuse_synced_passkeys(chamber: Chamber) -> None:
    assert (await chamber.enroll("d12", backup_eligible=True)).status_code == 201
    configured = await chamber.council_command("admin", "council.configure", refuse_backup_eligible=True)
    assert configured.status_code == 200, configured.text
    refused_ = await chamber.enroll("d13", backup_eligible=True)
    assert refused_.status_code == 400 and refused_.json()["error"] == "credential_backup_eligible"
    assert (await chamber.enroll("d13")).status_code == 201


async def test_only_a_demo_council_may_turn_signatures_off(chamber: Chamber) -> None:
    # the demo council may (it is a demo) …
    off = await chamber.council_command("admin", "council.configure", signed_ballots=False)
    assert off.status_code == 200, off.text
    # … but a secretary may not touch the setting at all
    by_secretary = await chamber.council_command("secretary", "council.configure", signed_ballots=True)
    await refused(chamber, by_secretary, "forbidden")


async def test_a_demo_council_without_signatures_is_announced_loudly(demo_council: Demo, caplog: Any) -> None:
    from session_server.http.app import _warn_if_unsigned

    with caplog.at_level("WARNING", logger="session_server.http.app"):
        await _warn_if_unsigned(demo_council.server.kvorum)
    assert "NOT signed" in caplog.text and "voznesensk" in caplog.text
    council = (await demo_council.client.get("/api/v1/council")).json()
    assert council["demo"] is True and council["signed_ballots"] is False


async def test_the_nonce_endpoint_answers_only_members_for_an_existing_vote(chamber: Chamber) -> None:
    vote = await chamber.open_vote()
    url = f"/api/v1/sessions/{demo.SESSION_ID}/votes/{vote['id']}/nonce"
    mine = await chamber.client.get(url, headers=await chamber.demo.headers("deputy01"))
    assert mine.json() == {
        "vote": vote["id"],
        "deputy": "d01",
        "index": 0,
        "nonce": nonce_for(vote["nonce_seed"], "d01", 0),
    }
    assert (await chamber.cast("d01", "for")).status_code == 200
    after = await chamber.client.get(url, headers=await chamber.demo.headers("deputy01"))
    assert after.json()["index"] == 1 and after.json()["nonce"] == nonce_for(vote["nonce_seed"], "d01", 1)
    staff = await chamber.client.get(url, headers=await chamber.demo.headers("secretary"))
    assert (staff.status_code, staff.json()["error"]) == (403, "not_a_deputy")
    missing = await chamber.client.get(
        url.replace("/votes/v1/", "/votes/v99/"), headers=await chamber.demo.headers("deputy01")
    )
    assert missing.json()["error"] == "unknown_vote"
    assert (await chamber.client.get(url)).status_code == 401
