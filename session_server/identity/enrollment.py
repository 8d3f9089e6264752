"""Enrolling a deputy's tablet: one-time links and the WebAuthn credential they let a tablet register.

The secretary creates a link for a deputy; the token in it is random, single-use, expires
(``KVORUM_ENROLLMENT_SECONDS``) and is stored only as its SHA-256. Opening it on the tablet asks for
registration options (which remember their challenge) and sends the new credential back. The
credential must have been created with user verification; the council may refuse backup-eligible
(synced) passkeys. What comes out is the ``credential.enroll`` command the council's stream records,
which is what ballots are checked against. The HTTP routes are ``session_server/http/enrollment.py``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from webauthn import generate_registration_options, options_to_json, verify_registration_response
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from session_server.domain.commands import CredentialEnroll
from session_server.domain.council import CouncilState
from session_server.identity.errors import EnrollmentError
from voting.ballot import b64url, from_b64url

__all__ = ["Enrollments", "Link", "credential_from", "registration_options"]


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class Link:
    """An enrollment link, as stored (by its token's hash)."""

    deputy: str
    council: str
    created_by: str
    expires_at: datetime
    challenge: bytes | None


class Enrollments:
    """The one-time enrollment links in ``enrollments``."""

    def __init__(self, pool: asyncpg.Pool, *, lifetime_seconds: int) -> None:
        self.pool = pool
        self.lifetime = timedelta(seconds=lifetime_seconds)

    async def create(self, council: CouncilState, deputy: str, created_by: str) -> tuple[str, datetime]:
        """A new link for ``deputy``: its token (shown once) and when it expires."""
        if deputy not in council.deputies:
            raise EnrollmentError("unknown_deputy", f"{deputy!r} is not a member of the council", "invalid")
        token = secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + self.lifetime
        await self.pool.execute(
            "INSERT INTO enrollments (token_hash, council, deputy, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)",
            _token_hash(token),
            council.id,
            deputy,
            created_by,
            expires,
        )
        return token, expires

    async def open(self, token: str) -> Link:
        """The link of ``token`` while it may be used; ``EnrollmentError`` when unknown, used or expired."""
        row = await self.pool.fetchrow(
            "SELECT deputy, council, created_by, expires_at, challenge, used_at FROM enrollments WHERE token_hash = $1",
            _token_hash(token),
        )
        if row is None:
            raise EnrollmentError("enrollment_not_found", "this enrollment link is not valid", "not_found")
        if row["used_at"] is not None:
            raise EnrollmentError(
                "enrollment_used", "this enrollment link was already used; ask the secretary for a new one", "gone"
            )
        if row["expires_at"] <= datetime.now(UTC):
            raise EnrollmentError(
                "enrollment_expired", "this enrollment link has expired; ask the secretary for a new one", "gone"
            )
        challenge = row["challenge"]
        return Link(
            row["deputy"], row["council"], row["created_by"], row["expires_at"], bytes(challenge) if challenge else None
        )

    async def remember_challenge(self, token: str, challenge: bytes) -> None:
        """Keep the challenge of the registration options just given out for ``token``."""
        await self.pool.execute(
            "UPDATE enrollments SET challenge = $2 WHERE token_hash = $1", _token_hash(token), challenge
        )

    async def use(self, token: str, credential: str) -> None:
        """Mark the link used by ``credential``, once; ``EnrollmentError`` if another request used it first."""
        used = await self.pool.fetchval(
            """UPDATE enrollments SET used_at = now(), credential = $2
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING deputy""",
            _token_hash(token),
            credential,
        )
        if used is None:
            raise EnrollmentError("enrollment_used", "this enrollment link was already used", "gone")

    async def release(self, token: str) -> None:
        """Make the link usable again (the credential could not be recorded)."""
        await self.pool.execute("UPDATE enrollments SET used_at = NULL WHERE token_hash = $1", _token_hash(token))


def registration_options(council: CouncilState, deputy_id: str) -> tuple[str, bytes]:
    """WebAuthn registration options for the deputy (user verification required, the deputy's live
    credentials excluded), as JSON, and their challenge."""
    deputy = council.deputies[deputy_id]
    opts = generate_registration_options(
        rp_id=council.rp_id,
        rp_name=council.name,
        user_name=deputy.id,
        user_id=deputy.id.encode(),
        user_display_name=deputy.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=from_b64url(c.id)) for c in council.live_credentials(deputy.id)
        ],
    )
    return options_to_json(opts), opts.challenge


def credential_from(council: CouncilState, link: Link, credential_json: str) -> CredentialEnroll:
    """The ``credential.enroll`` command for a credential the tablet registered, once verified against
    the link's challenge and the council's relying party; ``EnrollmentError`` when it is refused."""
    if link.challenge is None:
        raise EnrollmentError("enrollment_not_started", "ask for the registration options first")
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=link.challenge,
            expected_rp_id=council.rp_id,
            expected_origin=list(council.origins),
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as exc:
        code = "user_not_verified" if "verif" in str(exc).lower() else "credential_invalid"
        raise EnrollmentError(code, f"the credential was refused: {exc}", "invalid") from None
    except Exception as exc:  # malformed parts py_webauthn does not wrap
        raise EnrollmentError("credential_invalid", f"the credential is malformed: {exc}", "invalid") from None
    backup_eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    if b64url(verified.credential_id) in council.credentials:  # this device is someone's already
        raise EnrollmentError("credential_in_use", "this credential is already enrolled; the link stays unused")
    if backup_eligible and council.refuse_backup_eligible:
        raise EnrollmentError(
            "credential_backup_eligible",
            "the council accepts only device-bound credentials, not synced passkeys",
            "invalid",
        )
    return CredentialEnroll(
        # the deputy in the id too: the same credential for another deputy is a new command, which the
        # rules refuse (credential_exists), not a replay of the first deputy's enrollment
        id=f"enroll-{link.deputy}-{hashlib.sha256(verified.credential_id).hexdigest()[:32]}",
        type="credential.enroll",
        deputy=link.deputy,
        credential=b64url(verified.credential_id),
        public_key=b64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        backup_eligible=backup_eligible,
        backed_up=verified.credential_backed_up,
        aaguid=verified.aaguid,
    )
