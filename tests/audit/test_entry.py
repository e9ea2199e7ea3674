"""The canonical form entries are hashed over, and what is normalised before hashing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from clearsight.audit import GENESIS_HASH, AuditEvent, InvalidAuditEvent
from clearsight.audit.entry import ACTOR_LENGTH, canonical_entry, chain_entry

AT = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_canonical_form_is_sorted_compact_utf8_with_sequence_and_prev() -> None:
    event = AuditEvent("login.success", "管理员", AT, client="192.0.2.7", details={"b": 1, "a": [True, None]})
    assert canonical_entry(7, event, GENESIS_HASH) == (
        '{"action":"login.success","actor":"管理员","at":"2026-01-02T03:04:05.123456Z","client":"192.0.2.7",'
        '"details":{"a":[true,null],"b":1},"grant":null,"prev":"' + GENESIS_HASH + '","reason":null,"seq":7,'
        '"target":null,"v":1}').encode()


def test_hash_is_sha256_of_the_canonical_form_and_chains() -> None:
    first = chain_entry(1, AuditEvent("ptz", "oper", AT), GENESIS_HASH)
    second = chain_entry(2, AuditEvent("ptz", "oper", AT), first.hash)
    assert first.hash == hashlib.sha256(canonical_entry(1, AuditEvent("ptz", "oper", AT), GENESIS_HASH)).hexdigest()
    assert second.prev_hash == first.hash and second.hash != first.hash  # same content, other place
    assert first.computed_hash() == first.hash


def test_time_is_taken_to_utc_and_naive_time_is_refused() -> None:
    local = AT.astimezone(timezone(timedelta(hours=8)))
    assert AuditEvent("ptz", "a", local).normalised().at == AT
    with pytest.raises(InvalidAuditEvent):
        AuditEvent("ptz", "a", AT.replace(tzinfo=None)).normalised()


def test_text_is_cleaned_and_bounded() -> None:
    event = AuditEvent("login.failure", "x\x00y\udc80" + "z" * 500, AT, details={"k": "a\x00"}).normalised()
    assert event.actor.startswith("x\ufffdy?") and len(event.actor) == ACTOR_LENGTH and event.actor.endswith("…")
    assert event.details == {"k": "a\ufffd"}


@pytest.mark.parametrize("details", [{"x": float("nan")}, {"x": object()}, {1: "a"}, {"x": "y" * 20000}])
def test_details_must_be_small_json(details: dict[object, object]) -> None:
    with pytest.raises(InvalidAuditEvent):
        AuditEvent("ptz", "a", AT, details=details).normalised()  # type: ignore[arg-type]
