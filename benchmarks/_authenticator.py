"""A deputy's tablet authenticator in software (soft-webauthn) for tests and benchmarks.

soft-webauthn 0.1.3 signs without the user-verified flag; a deputy's tablet verifies the
fingerprint, so this one sets UP|UV (0x05) by default and can be told to leave UV out, claim
backup eligibility or reset its counter, for the refusal tests.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256
from soft_webauthn import SoftWebauthnDevice

from voting.ballot import b64url, ballot_challenge, from_b64url

UP, UV, BE, AT = 0x01, 0x04, 0x08, 0x40


class Tablet(SoftWebauthnDevice):  # type: ignore[misc]
    """One credential on one device; ``origin`` is the page the tablet runs."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin

    @property
    def credential(self) -> str:
        """The credential id, base64url."""
        return b64url(self.credential_id)

    def register(
        self, options: dict[str, Any], *, user_verified: bool = True, backup_eligible: bool = False
    ) -> dict[str, Any]:
        """Answer server registration options (JSON form) with a registration credential (JSON form)."""
        rp_id = options["rp"]["id"]
        self.cred_init(rp_id, from_b64url(options["user"]["id"]))
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": options["challenge"], "origin": self.origin}
        ).encode()
        flags = UP | AT | (UV if user_verified else 0) | (BE if backup_eligible else 0)
        cose_key = cbor.encode(ES256.from_cryptography_key(self.private_key.public_key()))
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + self.sign_count.to_bytes(4, "big")
            + self.aaguid
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + cose_key
        )
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.credential,
            "rawId": self.credential,
            "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation)},
            "clientExtensionResults": {},
        }

    def sign(
        self,
        ballot: bytes,
        *,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
    ) -> dict[str, str]:
        """A WebAuthn assertion over ``ballot`` (its Kvorum challenge), as ``ballot.cast`` carries it."""
        self.sign_count += 1
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": b64url(challenge or ballot_challenge(ballot)),
                "origin": origin or self.origin,
            }
        ).encode()
        flags = UP | (UV if user_verified else 0)
        auth_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([flags])
            + self.sign_count.to_bytes(4, "big")
        )
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "credential": self.credential,
            "authenticator_data": b64url(auth_data),
            "client_data_json": b64url(client_data),
            "signature": b64url(signature),
        }

    def create_directly(self, rp_id: str, user: bytes) -> tuple[str, str]:
        """Make the credential without a registration ceremony (benchmark seeding):
        ``(credential id, COSE public key)``, both base64url, as ``credential.enrolled`` records them."""
        self.cred_init(rp_id, user)
        cose_key = cbor.encode(ES256.from_cryptography_key(self.private_key.public_key()))
        return self.credential, b64url(cose_key)
