"""The SQL form of a `ChannelScope`: the one filter every channel list, device list and region count goes
through. It must admit exactly what `ChannelScope.admits` admits (tests/access/test_filter_matches_policy.py
compares the two on random grants and channels).

Each term is written so that an index serves it (migration 0008, docs/benchmarks.md):
- a region prefix is a code range: GB/T 2260 codes are digit strings whose subtree is a prefix, so "3402"
  covers `'3402' <= region_code < '3403'` (`ix_channels_region_code_class`, which also holds the class);
- business groups are an IN list (`ix_channels_business_group_class`), channel lists an IN on the key;
- the class bound is an IN over the classes within reach.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_

from clearsight.access.policy import ChannelScope, ScopeClause, ScopeKind
from clearsight.registry.models import Channel


def scope_condition(scope: ChannelScope) -> ColumnElement[bool]:
    """A WHERE condition on `channels` admitting exactly what `scope.admits` admits."""
    terms = [term for clause in scope.clauses if (term := _clause_condition(clause)) is not None]
    if not terms:
        return false()
    return or_(*terms)


def _clause_condition(clause: ScopeClause) -> ColumnElement[bool] | None:
    match: ColumnElement[bool]
    if clause.kind is ScopeKind.REGION:
        prefixes = _without_covered(clause.values)
        if not prefixes:
            return None
        match = or_(*(region_subtree(prefix) for prefix in prefixes))
    elif clause.kind is ScopeKind.BUSINESS_GROUP:
        if not clause.values:
            return None
        match = Channel.business_group_id.in_(sorted(clause.values))
    else:
        # `policy` compares the key's decimal string: "007" or "٣" name no channel.
        ids = sorted(int(value) for value in clause.values if _is_decimal_key(value))
        if not ids:
            return None
        match = Channel.id.in_(ids)
    return and_(match, Channel.channel_class.in_([c.value for c in clause.max_class.up_to()]))


def region_subtree(prefix: str) -> ColumnElement[bool]:
    """Channels whose region code starts with `prefix`, as an index range where the prefix is all digits."""
    if not prefix:
        return Channel.region_code.is_not(None)
    if not (prefix.isascii() and prefix.isdigit()):
        return Channel.region_code.startswith(prefix, autoescape=True)
    upper = _next_digit_string(prefix)
    in_range = Channel.region_code >= prefix
    if upper is not None:
        in_range = and_(in_range, Channel.region_code < upper)
    if prefix.endswith("9"):
        # ["3499", "3500") also holds "35" and "350", the shorter prefixes of the bound: the only strangers.
        in_range = and_(in_range, func.length(Channel.region_code) >= len(prefix))
    return in_range


def _next_digit_string(prefix: str) -> str | None:
    """The least digit string of the same length above `prefix` ("3409" → "3410"), None after "99…9".

    Every digit string starting with `prefix` lies in [prefix, next), in any collation that orders digits
    as digits (byte order on SQLite, the database collation on PostgreSQL). The only others in it are
    prefixes of `next` shorter than `prefix`, which exist only when `prefix` ends in 9 (a carry).
    """
    if set(prefix) == {"9"}:
        return None
    return str(int(prefix) + 1).zfill(len(prefix))


def _is_decimal_key(value: str) -> bool:
    return value.isascii() and value.isdigit() and str(int(value)) == value


def _without_covered(prefixes: frozenset[str]) -> list[str]:
    """The prefixes, less those inside a shorter one ("3402" goes when "34" is there)."""
    kept: list[str] = []
    for prefix in sorted(prefixes, key=len):
        if not any(prefix.startswith(shorter) for shorter in kept):
            kept.append(prefix)
    return kept
