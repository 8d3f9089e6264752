"""The identity part's refusals: who may sign in, enroll a device, or act on an account."""

from __future__ import annotations

from session_server.domain.errors import Refusal

__all__ = ["EnrollmentError", "IdentityError"]


class IdentityError(Refusal):
    """A refusal of the identity part; its ``kind`` says what the HTTP edge answers (409 unless given)."""


class EnrollmentError(IdentityError):
    """An enrollment link or credential refused: ``enrollment_not_found``, ``enrollment_used``,
    ``enrollment_expired``, ``enrollment_not_started``, ``credential_invalid``, ``user_not_verified``,
    ``credential_in_use``, ``credential_backup_eligible``, ``unknown_deputy``."""
