"""The domain's one error type and its stable codes.

A `DomainError` carries a `code` (the stable contract clients and the HTTP edge rely on; the edge
answers `{"error": code, "message": message}` with a 4xx status) and a human-readable English
`message` (user-facing Ukrainian text lives in the front ends' catalogues, keyed by code).

=========================  ==================================================================
code                       meaning
=========================  ==================================================================
forbidden                  the caller's role may not issue this command
not_a_deputy               a member command from a user who is not a member of the council roster
unknown_deputy             the named deputy is not on the council roster
council_not_found          the council does not exist (yet)
session_exists             `session.schedule` for a session that already exists
session_not_found          a command for a session that has not been scheduled
session_not_scheduled      `session.open` for a session that is already open
session_not_open           a command that needs an open session, on a scheduled one
session_closed             any command after the session was closed
registration_closed        registering while registration is closed; closing it twice
registration_open          opening registration while it is already open
already_registered         registering twice
not_registered             a member command that needs the caller registered in the chamber
unknown_item               the item is not on the session's agenda
item_number_taken          an agenda item (or a proposed one) with a number another item already has
agenda_locked              changing the agenda after the session opened
item_in_progress           starting an item while another is in progress
item_not_pending           starting an item that was already taken up
item_not_current           finishing or voting on an item that is not the current one
already_in_queue           asking for the floor while already queued or speaking
not_in_queue               (reserved) withdrawing a request that is not queued
speaker_active             granting the floor while someone holds it
no_speaker                 finishing a speech when nobody holds the floor
conflict_already_declared  declaring the same conflict of interest twice
already_voted              declaring a conflict on an item after voting in its open vote
no_quorum                  opening a vote without quorum (art. 46)
vote_already_open          opening a vote while another vote is open
vote_open                  closing the session or finishing the item while a vote is open
unknown_vote               the vote does not exist in this session
vote_not_open              acting on a cancelled vote
vote_closed                acting on a closed vote, or a ballot after its closing time
ballot_final               changing a ballot where the council makes the first ballot final
conflict_declared          a ballot from a deputy who declared a conflict on the item (art. 59-1)
unknown_rule               the vote's rule is not among the council's rules
procedural_rule_required   a procedural vote (including an item) under another rule than the council set for them
purpose_required           a procedural vote that does not say what it decides
basis_required             a vote «в цілому» before the draft is adopted «за основу»
basis_adopted              a second vote «за основу» (or «за основу та в цілому») after an adopted basis
consideration_ended        a vote on a draft after it failed «за основу»
item_decided               a vote on a draft already decided, without the council's decision to vote again
revote_not_allowed         a re-vote decision on a vote that is not the item's last vote on its draft
revote_pending             a vote of another kind while a re-vote the council decided is not yet held
no_draft                   an amendment vote on an item without a registered draft decision with a text
unknown_amendment          an amendment vote or a conclusion naming an amendment the item's draft does not have
amendment_withdrawn        an amendment vote on an amendment its author withdrew
amendment_voted            an amendment vote on an amendment the council has voted on already
amendment_conflict         an amendment vote on amendments that change the same lines (of each other, or of one adopted)
sealed_ballot_missing      closing a sealed vote whose kept opening of a ballot is missing or does not open it
secret_ballot_not_allowed  a secret vote on a question the council's rules (after the law) do not list for one
commission_not_ready       a secret vote before the counting commission's key is made; a key step out of order
commission_too_few         a secret vote with fewer of the commission's members registered than it needs to count
plaintext_in_secret_ballot a ballot with a plaintext choice in a secret vote (its ballots are encrypted only)
invalid_secret_ballot      a secret ballot that is not one: malformed, not points, not the options
secret_ballot_proof        a secret ballot whose proofs fail (an option not 0 or 1, not exactly one, another vote's)
invalid_commission         a commission of non-deputies, absent ones, a member twice, or more needed than it has
no_commission              a commission step before the council elected a counting commission
not_in_commission          a commission step or a decryption from a deputy not in the commission
commission_failed          a commission step after a founded complaint (the council elects it again)
commission_keyed           a key step after the commission's key is made
commission_step_done       a member's key step taken twice
invalid_commission_key     a key step whose values or proofs do not check
invalid_complaint          a complaint against a share that checks
vote_tallying              closing again a secret vote that waits for the commission's decryptions
vote_not_tallying          a decryption for a vote that is not waiting for one
decryption_shared          a member's second decryption of the same vote
invalid_decryption         a partial decryption whose proofs do not check
count_not_found            decryptions that give no count (cannot happen with checked ones)
signature_required         an unsigned ballot where the council requires signed ones
signatures_required        turning signed ballots off on a council that is not a demo council
invalid_committee          a committee of non-deputies or the mayor, more members than seats, officers not members
committee_limit            a deputy on more committees than the council's rules allow
unknown_committee          a committee the council does not have
conclusion_in_committee    a conclusion vote outside a standing committee's sitting
not_a_committee_member     registering or voting in a committee's sitting without being its member
invalid_witness            a witness key not a cosignature key of its name, a witness twice, or K > N witnesses
unknown_credential         the credential is not enrolled
credential_exists          enrolling a credential twice
credential_revoked         a ballot signed with (or revoking again) a revoked credential
credential_not_yours       a ballot signed with another deputy's credential
credential_backup_eligible enrolling a synced (backup-eligible) passkey where the council refuses them
nonce_invalid              a ballot whose nonce is not the deputy's for this vote
nonce_used                 a ballot whose nonce was already used (a replayed assertion)
credential_mismatch        the assertion names another credential than the ballot's
assertion_invalid          the assertion is malformed
challenge_mismatch         the signature is over another ballot (e.g. the choice changed after signing)
origin_mismatch            the assertion was made on a page of another origin
rp_id_mismatch             the assertion was made for another relying party
user_not_verified          the authenticator did not verify the deputy (no fingerprint or PIN)
sign_count_regressed       the authenticator's sign count went backwards (a cloned authenticator?)
signature_invalid          the signature does not verify with the enrolled public key
broadcast_live             starting the broadcast while it is live (a second publisher)
broadcast_not_live         interrupting or stopping a broadcast that is not live
command_id_reused          a command id another user's command already used on this stream (ids are per user)
invalid_command            a command that is well-formed but makes no sense here (e.g. duplicate
                           agenda item ids, a second mayor, an existing council)
=========================  ==================================================================

The mayor's signature on a decision made on the enrolled device (``document.sign`` with
``algorithm: "webauthn"``, ``voting.decision``) is refused with the WebAuthn codes of a ballot:
``assertion_invalid``, ``unknown_credential``, ``credential_not_yours`` (a credential enrolled for
another member than the mayor), ``credential_revoked``, ``credential_mismatch``,
``challenge_mismatch`` (signed over another council, document, decision number or digest),
``origin_mismatch``, ``rp_id_mismatch``, ``user_not_verified`` and ``signature_invalid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["CODES", "DomainError", "Kind", "Refusal", "declare", "kind_of"]

Kind = Literal["conflict", "invalid", "forbidden", "not_found", "gone", "unavailable"]
"""What a refusal is, which the HTTP edge turns into a status (409, 400, 403, 404, 410, 503)."""

CODES: set[str] = set()
"""Every code a command can be refused with: the core's (the table in this module's docstring says what
each means) and those the extensions declare (``declare``) for their own kinds of record."""

_KINDS: dict[str, Kind] = {}


def declare(codes: Mapping[str, Kind]) -> None:
    """Add an extension's refusal codes with their kinds (a code declared twice must keep its kind)."""
    for code, kind in codes.items():
        if code in CODES and _KINDS.get(code, "conflict") != kind:
            raise ValueError(f"the error code {code!r} is declared already, as {_KINDS.get(code, 'conflict')}")
        CODES.add(code)
        if kind != "conflict":
            _KINDS[code] = kind


def kind_of(code: str) -> Kind:
    """What the refusal ``code`` is (``conflict`` unless declared otherwise)."""
    return _KINDS.get(code, "conflict")


# The core's own codes: "forbidden" also for a signed ballot that does not prove the deputy cast it on the
# deputy's own device; "not_found" for what does not exist; "invalid" for what can never be right.
declare(
    {
        "forbidden": "forbidden",
        "broadcast_live": "conflict",
        "broadcast_not_live": "conflict",
        "not_a_deputy": "forbidden",
        "unknown_deputy": "conflict",
        "council_not_found": "not_found",
        "session_exists": "conflict",
        "session_not_found": "not_found",
        "session_not_scheduled": "conflict",
        "session_not_open": "conflict",
        "session_closed": "conflict",
        "registration_closed": "conflict",
        "registration_open": "conflict",
        "already_registered": "conflict",
        "not_registered": "conflict",
        "unknown_item": "conflict",
        "item_number_taken": "conflict",
        "agenda_locked": "conflict",
        "item_in_progress": "conflict",
        "item_not_pending": "conflict",
        "item_not_current": "conflict",
        "already_in_queue": "conflict",
        "not_in_queue": "conflict",
        "speaker_active": "conflict",
        "no_speaker": "conflict",
        "conflict_already_declared": "conflict",
        "already_voted": "conflict",
        "no_quorum": "conflict",
        "vote_already_open": "conflict",
        "vote_open": "conflict",
        "unknown_vote": "conflict",
        "vote_not_open": "conflict",
        "vote_closed": "conflict",
        "ballot_final": "conflict",
        "conflict_declared": "conflict",
        "unknown_rule": "conflict",
        "procedural_rule_required": "conflict",
        "purpose_required": "invalid",
        "basis_required": "conflict",
        "basis_adopted": "conflict",
        "consideration_ended": "conflict",
        "item_decided": "conflict",
        "revote_not_allowed": "conflict",
        "revote_pending": "conflict",
        "no_draft": "conflict",
        "unknown_amendment": "conflict",
        "amendment_withdrawn": "conflict",
        "amendment_voted": "conflict",
        "amendment_conflict": "conflict",
        "sealed_ballot_missing": "unavailable",
        "secret_ballot_not_allowed": "conflict",
        "commission_not_ready": "conflict",
        "commission_too_few": "conflict",
        "plaintext_in_secret_ballot": "invalid",
        "invalid_secret_ballot": "invalid",
        "secret_ballot_proof": "invalid",
        "invalid_commission": "invalid",
        "no_commission": "conflict",
        "not_in_commission": "forbidden",
        "commission_failed": "conflict",
        "commission_keyed": "conflict",
        "commission_step_done": "conflict",
        "invalid_commission_key": "invalid",
        "invalid_complaint": "invalid",
        "vote_tallying": "conflict",
        "vote_not_tallying": "conflict",
        "decryption_shared": "conflict",
        "invalid_decryption": "invalid",
        "count_not_found": "conflict",
        "signature_required": "forbidden",
        "signatures_required": "conflict",
        "invalid_witness": "invalid",
        "invalid_committee": "invalid",
        "committee_limit": "conflict",
        "unknown_committee": "conflict",
        "not_a_committee_member": "forbidden",
        "conclusion_in_committee": "conflict",
        "unknown_credential": "forbidden",
        "credential_exists": "conflict",
        "credential_revoked": "forbidden",
        "credential_not_yours": "forbidden",
        "credential_backup_eligible": "conflict",
        "nonce_invalid": "forbidden",
        "nonce_used": "conflict",
        "credential_mismatch": "forbidden",
        "assertion_invalid": "invalid",
        "challenge_mismatch": "forbidden",
        "origin_mismatch": "forbidden",
        "rp_id_mismatch": "forbidden",
        "user_not_verified": "forbidden",
        "sign_count_regressed": "forbidden",
        "signature_invalid": "forbidden",
        "command_id_reused": "conflict",
        "invalid_command": "invalid",
    }
)


class Refusal(Exception):
    """Base of every package's refusals: a stable ``code``, a readable English ``message``, and its ``kind``
    (what the HTTP edge turns into a status, once, for all of them; ``conflict`` unless given)."""

    code: str
    message: str

    def __init__(self, code: str, message: str, kind: Kind | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self._kind = kind

    @property
    def kind(self) -> Kind:
        """What the refusal is."""
        return self._kind or "conflict"


class DomainError(Refusal):
    """A command refused by the council or session rules; `code` is one of `CODES`."""

    @property
    def kind(self) -> Kind:
        return kind_of(self.code)

    def __reduce__(self) -> tuple[type[DomainError], tuple[str, str]]:
        """Pickle by code and message (the default would pass the joined text as one argument)."""
        return (type(self), (self.code, self.message))
