"""`policy.authorize` and `visible_scope`: scope, class, hours of day, until-date, revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clearsight.access.policy import (
    Action,
    ChannelClass,
    Grant,
    HoursOfDay,
    ScopeKind,
    Subject,
    authorize,
    visible_scope,
)
from clearsight.access.users import Role

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
VIEWER = Subject(3, "view", Role.VIEWER, department_id=7)


@dataclass(frozen=True)
class Ch:
    id: int = 1
    region_code: str | None = "340201"
    business_group_id: str | None = None
    channel_class: str = "public"


def grant(**changes: object) -> Grant:
    values: dict[str, object] = dict(id="g1", department_id=7, user_id=None, actions=frozenset({Action.LIVE}),
                                     scope_kind=ScopeKind.REGION, scope_values=("3402",),
                                     max_class=ChannelClass.RESTRICTED, created_by="admin", created_at=NOW)
    values.update(changes)
    return Grant(**values)  # type: ignore[arg-type]


def test_grant_in_scope_allows_and_is_named() -> None:
    decision = authorize(VIEWER, Action.LIVE, Ch(), [grant()], NOW)
    assert decision.allowed and decision.grant_id == "g1"


def test_out_of_scope_above_class_or_other_action_is_refused() -> None:
    assert not authorize(VIEWER, Action.LIVE, Ch(region_code="3501"), [grant()], NOW).allowed
    assert not authorize(VIEWER, Action.LIVE, Ch(channel_class="sensitive"), [grant()], NOW).allowed
    assert not authorize(VIEWER, Action.PTZ, Ch(), [grant()], NOW).allowed
    other = Subject(4, "x", Role.VIEWER, department_id=8)
    assert not authorize(other, Action.LIVE, Ch(), [grant()], NOW).allowed


def test_administrators_need_no_grant() -> None:
    admin = Subject(1, "admin", Role.ADMINISTRATOR, None)
    decision = authorize(admin, Action.EXPORT, Ch(channel_class="sensitive"), [], NOW)
    assert decision.allowed and decision.grant_id is None


def test_hours_of_day_including_past_midnight() -> None:
    office = grant(hours=HoursOfDay(9 * 60, 17 * 60))
    night = grant(hours=HoursOfDay(22 * 60, 6 * 60))
    assert authorize(VIEWER, Action.LIVE, Ch(), [office], NOW).allowed
    refused = authorize(VIEWER, Action.LIVE, Ch(), [night], NOW)
    assert not refused.allowed and "hours" in refused.reason
    assert authorize(VIEWER, Action.LIVE, Ch(), [night], NOW.replace(hour=23)).allowed
    assert authorize(VIEWER, Action.LIVE, Ch(), [night], NOW.replace(hour=5, minute=59)).allowed
    shanghai = grant(hours=HoursOfDay(9 * 60, 17 * 60, "Asia/Shanghai"))  # 01:00-09:00 UTC
    assert not authorize(VIEWER, Action.LIVE, Ch(), [shanghai], NOW).allowed


def test_until_date_and_revocation() -> None:
    until = grant(valid_until=NOW + timedelta(days=1))
    assert authorize(VIEWER, Action.LIVE, Ch(), [until], NOW).allowed
    assert not authorize(VIEWER, Action.LIVE, Ch(), [until], NOW + timedelta(days=1)).allowed
    assert not authorize(VIEWER, Action.LIVE, Ch(), [grant(revoked_at=NOW)], NOW).allowed
    assert not authorize(VIEWER, Action.LIVE, Ch(), [grant(valid_from=NOW + timedelta(hours=1))], NOW).allowed


def test_the_grant_expiring_last_is_named() -> None:
    short, forever = grant(id="a", valid_until=NOW + timedelta(hours=1)), grant(id="b")
    assert authorize(VIEWER, Action.LIVE, Ch(), [short, forever], NOW).grant_id == "b"


def test_visible_scope_merges_and_admits_as_authorize_does() -> None:
    grants = [grant(id=str(i), scope_values=(f"34{i:02d}",)) for i in range(1, 50)]
    grants.append(grant(id="c", scope_kind=ScopeKind.CHANNELS, scope_values=("99",), max_class=ChannelClass.SENSITIVE))
    scope = visible_scope(VIEWER, grants, NOW)
    assert scope is not None and len(scope.clauses) == 2
    for channel in (Ch(), Ch(region_code="3501"), Ch(id=99, region_code=None, channel_class="sensitive"),
                    Ch(channel_class="sensitive")):
        assert scope.admits(channel) == any(
            authorize(VIEWER, action, channel, grants, NOW).allowed for action in Action)
    assert visible_scope(Subject(1, "a", Role.ADMINISTRATOR, None), grants, NOW) is None
