"""Audit entries and their hash chain: the canonical serialization every hash is computed over.

An entry's hash is SHA-256 over the canonical JSON of all its fields *including* its sequence number and the
previous entry's hash (`prev`), so changing, removing, inserting or reordering entries breaks the chain:

    {"action":…,"actor":…,"at":"2026-01-02T03:04:05.123456Z","client":…,"details":{…},"grant":…,
     "prev":"<64 hex>","reason":…,"seq":17,"target":…,"v":1}

Keys sorted, no spaces, UTF-8 (not \\u-escaped), no NaN/Infinity; `at` in UTC with microseconds. The first
entry's `prev` is GENESIS_HASH. Text is normalised before it is hashed and stored (see `normalise_text`),
so what the database returns hashes to what was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clearsight.audit.errors import InvalidAuditEvent

CANONICAL_VERSION = 1  # the "v" member: bump when the serialization changes
GENESIS_HASH = "0" * 64  # `prev_hash` of entry 1
HASH_LENGTH = 64  # SHA-256, hex
ACTOR_LENGTH = 255
ACTION_LENGTH = 64
TARGET_LENGTH = 255
CLIENT_LENGTH = 64  # an IPv6 address is at most 45 characters
GRANT_LENGTH = 64
REASON_LENGTH = 2000
MAX_DETAILS_BYTES = 16 * 1024  # canonical JSON of `details`, estimated from the values' sizes
SCALAR_SIZE = 24  # what a number, true/false/null or the brackets of a container count against it
TRUNCATED = "…"
_REPLACEMENT = "\ufffd"  # stands in for NUL, which PostgreSQL text cannot hold

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject = Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What a caller records: who did what to which target, from where, under which grant and why."""

    action: str
    actor: str
    at: datetime
    target: str | None = None
    client: str | None = None
    grant: str | None = None
    reason: str | None = None
    details: JsonObject = field(default_factory=dict)

    def normalised(self) -> AuditEvent:
        """The event as it is stored: text cleaned and bounded, `at` in UTC, details canonical."""
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidAuditEvent(f"naive time {self.at.isoformat()}; use an aware UTC datetime")
        budget = [MAX_DETAILS_BYTES]
        details = _normalise_json(dict(self.details), budget)
        if not isinstance(details, dict):
            raise InvalidAuditEvent("details must be a JSON object")
        return AuditEvent(
            action=normalise_text(str(self.action), ACTION_LENGTH),
            actor=normalise_text(self.actor, ACTOR_LENGTH),
            at=self.at.astimezone(UTC),
            target=_optional_text(self.target, TARGET_LENGTH),
            client=_optional_text(self.client, CLIENT_LENGTH),
            grant=_optional_text(self.grant, GRANT_LENGTH),
            reason=_optional_text(self.reason, REASON_LENGTH),
            details=details,
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the chain, as stored."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    client: str | None
    grant: str | None
    reason: str | None
    details: JsonObject
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash this entry's content gives (equal to `hash` unless it was altered)."""
        return entry_hash(self.seq, _event_of(self), self.prev_hash)

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON object (exports and the API), with `at` in ISO 8601 UTC."""
        return {
            "seq": self.seq, "at": format_time(self.at), "actor": self.actor, "action": self.action,
            "target": self.target, "client": self.client, "grant": self.grant, "reason": self.reason,
            "details": dict(self.details), "prev_hash": self.prev_hash, "hash": self.hash,
        }


def chain_entry(seq: int, event: AuditEvent, prev_hash: str) -> AuditEntry:
    """The entry `event` becomes at `seq` after the entry whose hash is `prev_hash` (event normalised)."""
    return AuditEntry(seq, event.at, event.actor, event.action, event.target, event.client, event.grant,
                      event.reason, event.details, prev_hash, entry_hash(seq, event, prev_hash))


def entry_hash(seq: int, event: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256(canonical_entry(seq, event, prev_hash)).hexdigest()


def canonical_entry(seq: int, event: AuditEvent, prev_hash: str) -> bytes:
    document = {
        "v": CANONICAL_VERSION, "seq": seq, "at": format_time(event.at), "actor": event.actor,
        "action": event.action, "target": event.target, "client": event.client, "grant": event.grant,
        "reason": event.reason, "details": event.details, "prev": prev_hash,
    }
    return canonical_json(document).encode()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_time(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds and Z: 2026-01-02T03:04:05.123456Z."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def normalise_text(text: str, limit: int) -> str:
    """`text` as stored: lone surrogates and NUL replaced, cut to `limit` characters (ending in …)."""
    if text.isascii() and "\x00" not in text and len(text) <= limit:
        return text  # the common case, at no cost
    clean = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", _REPLACEMENT)
    return clean if len(clean) <= limit else clean[: limit - 1] + TRUNCATED


def _optional_text(text: str | None, limit: int) -> str | None:
    return None if text is None else normalise_text(text, limit)


def _normalise_json(value: Any, budget: list[int]) -> JsonValue:
    """`value` with its text normalised; `budget` (a one-item list) is charged about its JSON size in bytes."""
    if isinstance(value, str):
        _charge(budget, len(value) * (1 if value.isascii() else 3) + 3)
        return normalise_text(value, MAX_DETAILS_BYTES)
    _charge(budget, SCALAR_SIZE)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidAuditEvent("details hold NaN or an infinity")
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise InvalidAuditEvent("details keys must be strings")
        return {_normalise_key(key, budget): _normalise_json(item, budget) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_json(item, budget) for item in value]
    raise InvalidAuditEvent(f"details hold a {type(value).__name__}, which is not JSON")


def _normalise_key(key: str, budget: list[int]) -> str:
    _charge(budget, len(key) + 4)
    return normalise_text(key, ACTION_LENGTH)


def _charge(budget: list[int], size: int) -> None:
    budget[0] -= size
    if budget[0] < 0:
        raise InvalidAuditEvent(f"details longer than about {MAX_DETAILS_BYTES} bytes")


def _event_of(entry: AuditEntry) -> AuditEvent:
    return AuditEvent(entry.action, entry.actor, entry.at, entry.target, entry.client, entry.grant, entry.reason,
                      entry.details)
