"""The identity part's refusals: who may sign in, enroll a device, or act on an account."""

from __future__ import annotations

from session_server.domain.errors import Kind, Refusal

__all__ = ["EnrollmentError", "IdentityError"]


class IdentityError(Refusal):
    """A refusal of the identity part; ``kind`` says what the HTTP edge answers (409 unless given)."""

    def __init__(self, code: str, message: str, kind: Kind = "conflict") -> None:
        super().__init__(code, message)
        self._kind: Kind = kind

    @property
    def kind(self) -> Kind:
        return self._kind


class EnrollmentError(IdentityError):
    """An enrollment link or credential refused: ``enrollment_not_found``, ``enrollment_used``,
    ``enrollment_expired``, ``enrollment_not_started``, ``credential_invalid``, ``user_not_verified``,
    ``credential_in_use``, ``credential_backup_eligible``, ``unknown_deputy``."""
