"""Request and response bodies of `/api/v1/users` (the signed-in user, and users for administrators)."""

from __future__ import annotations

from pydantic import Field, model_validator

from clearsight.access.user_directory import UserProfile, UserProfilePage
from clearsight.access.users import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, Role
from clearsight.api.access_schemas import DepartmentOut
from clearsight.api.params import RowKey
from clearsight.api.schemas import Schema, UtcDatetime


class UserOut(Schema):
    id: int
    username: str
    role: Role
    active: bool
    department: DepartmentOut | None = Field(description="None: outside every department (e.g. the first "
                                                         "administrator).")
    created_at: UtcDatetime

    @staticmethod
    def of(profile: UserProfile) -> UserOut:
        return UserOut(id=profile.id, username=profile.username, role=profile.role, active=profile.is_active,
                       department=DepartmentOut.model_validate(profile.department) if profile.department else None,
                       created_at=profile.created_at)


class UserPageOut(Schema):
    items: list[UserOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page; null on the last one.")

    @staticmethod
    def of(page: UserProfilePage) -> UserPageOut:
        return UserPageOut(items=[UserOut.of(p) for p in page.items], next_cursor=page.next_cursor)


class UserCreateIn(Schema):
    username: str = Field(min_length=1, max_length=MAX_USERNAME_LENGTH)
    # The policy (length, and whatever `UserStore.create_user` checks) answers 422 with its reason.
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH, repr=False)
    role: Role
    department_id: RowKey | None = None


class UserPatchIn(Schema):
    """Fields left out stay as they are; `department_id: null` takes the user out of every department."""

    role: Role | None = None
    department_id: RowKey | None = None
    active: bool | None = Field(None, description="false refuses the user's sign-in and existing tokens.")

    @model_validator(mode="after")
    def _check(self) -> UserPatchIn:
        if not self.model_fields_set:
            raise ValueError("name at least one of role, department_id, active")
        if "role" in self.model_fields_set and self.role is None:
            raise ValueError("role cannot be null")
        if "active" in self.model_fields_set and self.active is None:
            raise ValueError("active cannot be null")
        return self
