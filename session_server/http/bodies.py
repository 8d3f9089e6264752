"""The request bodies of the core's routes that no domain model describes: validated by them, and named in the
OpenAPI document's component schemas (``session_server.http.openapi``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from session_server.http.responses import Model

__all__ = ["LoginBody", "RefreshBody", "UserChange"]


class LoginBody(Model):
    """``POST /auth/login``."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class RefreshBody(Model):
    """``POST /auth/refresh`` for clients without cookies (the cookie is used when present)."""

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class UserChange(Model):
    """``POST /users/{username}``: what to change (fields left out stay)."""

    disabled: bool | None = None
    role: Literal["admin", "secretary", "chair", "deputy", "observer"] | None = None
