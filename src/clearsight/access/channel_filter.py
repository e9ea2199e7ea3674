"""The SQL form of a `ChannelScope`: the one filter every channel list and region count goes through.

A region clause becomes `substr(region_code, 1, n) IN (…)` per prefix length (region codes are 2, 4, 6
or 8 digits), not one LIKE per prefix, so a scope of many regions stays a few terms; business groups and
channel lists are IN lists; the class bound is an IN over the classes within reach.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement, false, func, literal_column, or_
from sqlalchemy.sql.expression import and_

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
        by_length: dict[int, set[str]] = defaultdict(set)
        for prefix in _without_covered(clause.values):
            by_length[len(prefix)].add(prefix)
        if not by_length:
            return None
        match = or_(*(func.substr(Channel.region_code, 1, literal_column(str(length))).in_(sorted(prefixes))
                      for length, prefixes in sorted(by_length.items())))
    elif clause.kind is ScopeKind.BUSINESS_GROUP:
        if not clause.values:
            return None
        match = Channel.business_group_id.in_(sorted(clause.values))
    else:
        ids = sorted(int(value) for value in clause.values if value.isdigit())
        if not ids:
            return None
        match = Channel.id.in_(ids)
    return and_(match, Channel.channel_class.in_([c.value for c in clause.max_class.up_to()]))


def _without_covered(prefixes: frozenset[str]) -> list[str]:
    """The prefixes, less those inside a shorter one ("3402" goes when "34" is there)."""
    kept: list[str] = []
    for prefix in sorted(prefixes, key=len):
        if prefix and not any(prefix.startswith(shorter) for shorter in kept):
            kept.append(prefix)
    return kept
