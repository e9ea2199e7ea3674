"""Signed checkpoints of the chain's head: what they sign, when they are due, and checking them.

A checkpoint is an Ed25519 signature by the platform key over the canonical JSON of (kind, sequence, hash,
time), prefixed by a domain tag so that no other signed document can pass for one. Entries up to a
checkpoint's sequence cannot be removed from the tail, nor the chain rewritten, without it showing.

Kinds tell the verifier what the platform was doing:
- `start`: the writer started; signs the head it found. Entries after a `stop` checkpoint and before the
  next `start` were written while the platform was stopped: not by it.
- `periodic`: every `CheckpointPolicy.every_entries` entries or `every_seconds` seconds while entries arrive.
- `stop`: the writer closed cleanly; nothing may follow until the next `start`.
- `resync`: the writer found entries it had not written (another writer, or someone with database access)
  and continued after them; the entries between the previous checkpoint and this one are not its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from clearsight.audit.entry import canonical_json, format_time
from clearsight.signing import SigningKey, public_key_fingerprint, verify_signature

CHECKPOINT_DOMAIN = b"clearsight audit checkpoint v1\n"
DEFAULT_EVERY_ENTRIES = 1000
DEFAULT_EVERY_SECONDS = 10.0


class CheckpointKind(StrEnum):
    START = "start"
    PERIODIC = "periodic"
    STOP = "stop"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """A periodic checkpoint is written once this many entries or seconds have passed since the last one."""

    every_entries: int = DEFAULT_EVERY_ENTRIES
    every_seconds: float = DEFAULT_EVERY_SECONDS

    def __post_init__(self) -> None:
        if self.every_entries < 1 or self.every_seconds <= 0:
            raise ValueError("checkpoints need every_entries >= 1 and every_seconds > 0")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    kind: CheckpointKind | str  # a str only when read back with a kind this version does not know
    signed_at: datetime
    key_fingerprint: str
    signature: str  # hex

    def signed_bytes(self) -> bytes:
        return checkpoint_message(self.kind, self.seq, self.hash, self.signed_at)

    def signature_valid(self, public_key: bytes) -> bool:
        """Signed by the key whose raw public bytes are `public_key`, over exactly these fields."""
        if self.key_fingerprint != public_key_fingerprint(public_key):
            return False
        try:
            signature = bytes.fromhex(self.signature)
        except ValueError:
            return False
        return verify_signature(public_key, signature, self.signed_bytes())


def checkpoint_message(kind: str, seq: int, hash_: str, signed_at: datetime) -> bytes:
    body = {"kind": str(kind), "seq": seq, "hash": hash_, "signed_at": format_time(signed_at)}
    return CHECKPOINT_DOMAIN + canonical_json(body).encode()


def sign_checkpoint(key: SigningKey, kind: CheckpointKind, seq: int, hash_: str, signed_at: datetime) -> Checkpoint:
    signature = key.sign(checkpoint_message(kind, seq, hash_, signed_at)).hex()
    return Checkpoint(seq, hash_, kind, signed_at, key.fingerprint, signature)
