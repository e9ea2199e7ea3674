"""Request and response bodies of sign-in sessions, password change, user state and API tokens."""

from __future__ import annotations

from pydantic import Field

from clearsight.access.api_tokens import ApiTokenScope
from clearsight.access.password_policy import MAX_PASSWORD_LENGTH
from clearsight.access.sessions import SessionKind
from clearsight.api.schemas import Schema, UtcDatetime

MAX_TOKEN_NAME_LENGTH = 255


class CookieSessionOut(Schema):
    csrf_token: str = Field(description="Also in the readable CSRF cookie: send it as X-CSRF-Token on unsafe "
                            "methods.")
    expires_in: int = Field(description="Seconds until the session (and its cookie) expires.")


class PasswordChangeIn(Schema):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class SessionOut(Schema):
    id: str
    user_id: int
    username: str
    kind: SessionKind
    created_at: UtcDatetime
    last_seen_at: UtcDatetime = Field(description="Updated at most once a minute.")
    expires_at: UtcDatetime
    client: str | None
    user_agent: str | None
    current: bool = Field(default=False, description="The session of this request.")


class UserActiveIn(Schema):
    active: bool = Field(description="False disables the account and ends all its sessions.")


class UserStateOut(Schema):
    id: int
    username: str
    role: str
    is_active: bool
    sessions_revoked: int = 0


class ApiTokenIn(Schema):
    name: str = Field(min_length=1, max_length=MAX_TOKEN_NAME_LENGTH, description="What it is for.")
    scopes: list[ApiTokenScope] = Field(min_length=1, max_length=len(ApiTokenScope))
    expires_at: UtcDatetime | None = Field(default=None, description="None: until revoked.")


class ApiTokenOut(Schema):
    id: str
    user_id: int
    username: str
    name: str
    scopes: list[ApiTokenScope]
    secret_prefix: str = Field(description="The secret's first characters, to tell tokens apart.")
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    last_used_at: UtcDatetime | None = Field(description="Updated at most once a minute.")
    revoked_at: UtcDatetime | None
    revoked_by: str | None


class ApiTokenCreatedOut(ApiTokenOut):
    secret: str = Field(description="Shown this once: send it as `Authorization: Bearer cs_…`.")
