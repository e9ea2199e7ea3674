"""Offline verification of the whole chain: every hash and link recomputed, every checkpoint signature checked.

Entries are read in sequence order, checkpoints in the order they were written, both in one read
transaction (a snapshot), page by page, so memory stays flat however long the log. What is found:

- an entry whose content no longer hashes to its stored hash (altered);
- an entry whose `prev_hash` is not the previous entry's hash (an entry before it altered and re-hashed, or
  this one inserted) — or is the hash of an entry elsewhere (reordered);
- a gap in the sequence numbers (deleted);
- a checkpoint whose signature does not verify with the platform key, or whose hash is not the hash of the
  entry at its sequence number (the chain was rewritten after it), or whose entries are gone (truncated);
- entries no checkpoint of the platform's writer vouches for: after a `stop` checkpoint (the platform was
  not running), before a `resync` one (another writer). An unsigned tail after a `start` or `periodic`
  checkpoint is only a warning: the running platform signs it within its checkpoint interval (or it stopped
  without a stop checkpoint), unless `require_signed`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clearsight.audit.actions import AuditAction
from clearsight.audit.checkpoints import Checkpoint, CheckpointKind
from clearsight.audit.entry import GENESIS_HASH, AuditEntry
from clearsight.audit.rows import (
    CHECKPOINT_COLUMNS,
    CHECKPOINTS,
    ENTRIES,
    ENTRY_COLUMNS,
    checkpoint_from_row,
    entry_from_row,
)
from clearsight.audit.search import EXPORT_PAGE_SIZE

MAX_FINDINGS = 100  # findings kept in a report; the rest are only counted
MAX_HASH_LOOKUPS = 20  # searches for where a stray prev_hash points (each scans the table)
CHECKPOINT_PAGE_SIZE = 1000


class FindingKind(StrEnum):
    HASH_MISMATCH = "hash mismatch"
    PREV_HASH_MISMATCH = "prev_hash mismatch"
    MISSING_SEQUENCE = "missing sequence"
    REORDERED = "reordered"
    CHECKPOINT_SIGNATURE_INVALID = "checkpoint signature invalid"
    CHECKPOINT_MISMATCH = "checkpoint does not match the chain"
    MISSING_AFTER_CHECKPOINT = "entries missing after checkpoint"
    NOT_WRITTEN_BY_PLATFORM = "entries not written by the platform"
    UNSIGNED = "entries not signed yet"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int  # the first entry concerned
    kind: FindingKind
    severity: Severity
    detail: str

    def describe(self) -> str:
        return f"entry {self.seq}: {self.kind}: {self.detail}"


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    last_checkpoint: Checkpoint | None = None
    findings: list[Finding] = field(default_factory=list)
    omitted: int = 0  # findings beyond MAX_FINDINGS
    error_count: int = 0  # kept or omitted

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity is Severity.WARNING]

    @property
    def intact(self) -> bool:
        return self.error_count == 0

    @property
    def first_broken(self) -> Finding | None:
        """The error concerning the lowest sequence number (the first found among equals)."""
        errors = self.errors
        return min(errors, key=lambda finding: finding.seq) if errors else None

    def add(self, seq: int, kind: FindingKind, detail: str, severity: Severity = Severity.ERROR) -> None:
        if severity is Severity.ERROR:
            self.error_count += 1
        if len(self.findings) >= MAX_FINDINGS:
            self.omitted += 1
            return
        self.findings.append(Finding(seq, kind, severity, detail))


async def verify_chain(engine: AsyncEngine, public_key: bytes, *, anchor: Checkpoint | None = None,
                       require_signed: bool = False) -> VerifyReport:
    """Check the audit chain in the database of `engine` against the platform's public key (raw Ed25519).

    `anchor`: the checkpoint of the anchor file (`audit.anchor`), which the chain must still reach and match.
    """
    report = VerifyReport()
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            walker = _ChainWalker(connection, report)
            signed = await _check_checkpoints(connection, report, walker, public_key)
            await walker.finish()
            report.head_seq, report.head_hash = walker.last_seq, walker.last_hash
            _check_tail(report, signed, require_signed)
            if anchor is not None:
                await _check_anchor(connection, report, anchor, signed, public_key)
    return report


class _ChainWalker:
    """Walks the entries in sequence order, checking each link; can stop at a checkpoint's sequence."""

    def __init__(self, connection: AsyncConnection, report: VerifyReport) -> None:
        self._connection = connection
        self._report = report
        self._entries = self._read()
        self._next: AuditEntry | None = None
        self._exhausted = False
        self._lookups = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH

    @property
    def exhausted(self) -> bool:
        return self._exhausted and self._next is None

    async def advance_to(self, seq: int) -> None:
        """Check every entry up to `seq` (inclusive)."""
        while (entry := await self._peek()) is not None and entry.seq <= seq:
            self._next = None
            await self._check(entry)

    async def finish(self) -> None:
        while (entry := await self._peek()) is not None:
            self._next = None
            await self._check(entry)

    async def _peek(self) -> AuditEntry | None:
        if self._next is None and not self._exhausted:
            try:
                self._next = await anext(self._entries)
            except StopAsyncIteration:
                self._exhausted = True
        return self._next

    async def _read(self) -> AsyncIterator[AuditEntry]:
        after = 0
        while True:
            rows = (await self._connection.execute(select(*ENTRY_COLUMNS).where(ENTRIES.c.seq > after)
                                                   .order_by(ENTRIES.c.seq).limit(EXPORT_PAGE_SIZE))).all()
            for row in rows:
                yield entry_from_row(row)
            if len(rows) < EXPORT_PAGE_SIZE:
                return
            after = int(rows[-1].seq)

    async def _check(self, entry: AuditEntry) -> None:
        report = self._report
        report.entries += 1
        expected = self.last_seq + 1
        linked = True
        if entry.seq > expected:
            report.add(expected, FindingKind.MISSING_SEQUENCE, f"{_span(expected, entry.seq - 1)}: missing (deleted)")
            linked = False  # the gap is the finding; the link across it is necessarily broken
        if linked and entry.prev_hash != self.last_hash:
            elsewhere = await self._seq_of_hash(entry.prev_hash)
            if elsewhere is not None and elsewhere != entry.seq - 1:
                report.add(entry.seq, FindingKind.REORDERED, f"its prev_hash is the hash of entry {elsewhere}, not of "
                           f"entry {entry.seq - 1}: entries were reordered")
            else:
                report.add(entry.seq, FindingKind.PREV_HASH_MISMATCH,
                           f"its prev_hash {entry.prev_hash[:16]}… is not entry {entry.seq - 1}'s hash "
                           f"{self.last_hash[:16]}…: entry {entry.seq - 1} was altered and re-hashed, or this "
                           "entry was inserted")
        elif (computed := entry.computed_hash()) != entry.hash:
            report.add(entry.seq, FindingKind.HASH_MISMATCH,
                       f"stored hash {entry.hash[:16]}… but its content hashes to {computed[:16]}…: it was altered")
        if entry.action == AuditAction.AUDIT_ANCHOR_MISMATCH:
            _report_anchor_note(report, entry)
        self.last_seq, self.last_hash = entry.seq, entry.hash

    async def _seq_of_hash(self, hash_: str) -> int | None:
        if self._lookups >= MAX_HASH_LOOKUPS:
            return None
        self._lookups += 1
        seq = await self._connection.scalar(select(ENTRIES.c.seq).where(ENTRIES.c.hash == hash_).limit(1))
        return None if seq is None else int(seq)


async def _checkpoints(connection: AsyncConnection) -> AsyncIterator[Checkpoint]:
    after = 0
    while True:
        rows = (await connection.execute(select(CHECKPOINTS.c.id, *CHECKPOINT_COLUMNS).where(CHECKPOINTS.c.id > after)
                                         .order_by(CHECKPOINTS.c.id).limit(CHECKPOINT_PAGE_SIZE))).all()
        for row in rows:
            yield checkpoint_from_row(row)
        if len(rows) < CHECKPOINT_PAGE_SIZE:
            return
        after = int(rows[-1].id)


async def _check_checkpoints(connection: AsyncConnection, report: VerifyReport, walker: _ChainWalker,
                             public_key: bytes) -> Checkpoint | None:
    """Check every checkpoint as the walk reaches it; returns the last valid one."""
    previous: Checkpoint | None = None
    matched_seq = 0  # the newest sequence number a valid checkpoint vouches for
    async for checkpoint in _checkpoints(connection):
        report.checkpoints += 1
        name = f"the {checkpoint.kind} checkpoint of {_time(checkpoint.signed_at)} at sequence {checkpoint.seq}"
        if not checkpoint.signature_valid(public_key):
            report.add(max(checkpoint.seq, 1), FindingKind.CHECKPOINT_SIGNATURE_INVALID,
                       f"{name} is not signed by the platform key (signed by key {checkpoint.key_fingerprint[:16]}…)")
            continue
        await walker.advance_to(checkpoint.seq)
        previous_seq = previous.seq if previous is not None else 0
        repeated = previous is not None and (previous.seq, previous.hash) == (checkpoint.seq, checkpoint.hash)
        if checkpoint.seq < previous_seq:
            report.add(checkpoint.seq, FindingKind.CHECKPOINT_MISMATCH,
                       f"{name} goes back from sequence {previous_seq}: checkpoints were reordered")
        elif repeated:
            pass  # the same head signed again (a stop after a periodic one, a start after a stop): checked
        elif checkpoint.seq == 0:
            if checkpoint.hash != GENESIS_HASH:
                report.add(1, FindingKind.CHECKPOINT_MISMATCH, f"{name} signs a non-empty chain at sequence 0")
        elif walker.last_seq == checkpoint.seq:
            if walker.last_hash == checkpoint.hash:
                matched_seq = checkpoint.seq
            else:
                report.add(matched_seq + 1, FindingKind.CHECKPOINT_MISMATCH,
                           f"entry {checkpoint.seq}'s hash is not the one {name} signed: "
                           f"one or more of {_span(matched_seq + 1, checkpoint.seq)} rewritten and re-hashed")
        elif walker.exhausted:
            report.add(walker.last_seq + 1, FindingKind.MISSING_AFTER_CHECKPOINT,
                       f"{_span(walker.last_seq + 1, checkpoint.seq)}: gone, but {name} had signed them: "
                       "the tail was truncated")
        # Otherwise the entry at checkpoint.seq is missing from the middle: the walk reports the gap.
        _check_succession(report, previous, checkpoint, name)
        previous = checkpoint
    report.last_checkpoint = previous
    return previous


def _check_succession(report: VerifyReport, previous: Checkpoint | None, checkpoint: Checkpoint, name: str) -> None:
    """Entries between two checkpoints must have been written by the running writer."""
    previous_seq = previous.seq if previous is not None else 0
    if checkpoint.seq <= previous_seq:
        return
    span = _span(previous_seq + 1, checkpoint.seq)
    if previous is None:
        report.add(1, FindingKind.NOT_WRITTEN_BY_PLATFORM, f"{span} before the first checkpoint ({name})")
    elif previous.kind == CheckpointKind.STOP:
        report.add(previous_seq + 1, FindingKind.NOT_WRITTEN_BY_PLATFORM,
                   f"{span} between the platform's stop ({_time(previous.signed_at)}) and {name}: written while "
                   "it was not running")
    elif checkpoint.kind == CheckpointKind.RESYNC:
        report.add(previous_seq + 1, FindingKind.NOT_WRITTEN_BY_PLATFORM,
                   f"{span} up to {name}: another writer inserted entries here, which the platform noticed")
    elif checkpoint.kind == CheckpointKind.START:
        report.add(previous_seq + 1, FindingKind.UNSIGNED,
                   f"{span} signed only when the platform started again ({name}): it had stopped without a stop "
                   "checkpoint", Severity.WARNING)


def _check_tail(report: VerifyReport, signed: Checkpoint | None, require_signed: bool) -> None:
    signed_seq = signed.seq if signed is not None else 0
    if report.head_seq <= signed_seq:
        return
    span = _span(signed_seq + 1, report.head_seq)
    if signed is None:
        report.add(1, FindingKind.NOT_WRITTEN_BY_PLATFORM, f"{span} signed by no valid checkpoint")
    elif signed.kind == CheckpointKind.STOP:
        report.add(signed_seq + 1, FindingKind.NOT_WRITTEN_BY_PLATFORM,
                   f"{span} after the stop checkpoint of {_time(signed.signed_at)}: written while the platform was "
                   "not running (forged, or by something else)")
    else:
        report.add(signed_seq + 1, FindingKind.UNSIGNED,
                   f"{span} after the last checkpoint ({signed.kind}, {_time(signed.signed_at)}): not signed yet; "
                   "the running platform signs within its checkpoint interval, or it stopped without signing",
                   Severity.ERROR if require_signed else Severity.WARNING)


async def _check_anchor(connection: AsyncConnection, report: VerifyReport, anchor: Checkpoint,
                        signed: Checkpoint | None, public_key: bytes) -> None:
    """The chain must still reach the anchor file's checkpoint, with the hash it signed."""
    name = f"the anchor file's {anchor.kind} checkpoint of {_time(anchor.signed_at)} at sequence {anchor.seq}"
    if not anchor.signature_valid(public_key):
        report.add(max(anchor.seq, 1), FindingKind.CHECKPOINT_SIGNATURE_INVALID,
                   f"{name} is not signed by the platform key")
        return
    if anchor.seq == 0:
        return
    signed_seq = signed.seq if signed is not None else 0
    if anchor.seq > report.head_seq:
        if signed_seq < anchor.seq:  # otherwise the checkpoints in the database said so already
            report.add(report.head_seq + 1, FindingKind.MISSING_AFTER_CHECKPOINT,
                       f"{_span(report.head_seq + 1, anchor.seq)}: gone, and the checkpoints that signed them too; "
                       f"{name} shows they existed: the tail was truncated")
        return
    stored = await connection.scalar(select(ENTRIES.c.hash).where(ENTRIES.c.seq == anchor.seq))
    if stored is not None and stored != anchor.hash:
        report.add(anchor.seq, FindingKind.CHECKPOINT_MISMATCH,
                   f"entry {anchor.seq}'s hash is not the one {name} signed: the chain was rewritten up to it")
    elif signed_seq < anchor.seq:
        report.add(signed_seq + 1, FindingKind.CHECKPOINT_MISMATCH,
                   f"the checkpoints after sequence {signed_seq} were removed from the database ({name} exists)")


def _report_anchor_note(report: VerifyReport, entry: AuditEntry) -> None:
    """A start that found the chain not reaching, or not matching, the anchor left this note."""
    details = entry.details
    anchor_seq, head_seq = details.get("anchor_seq"), details.get("head_seq")
    if not isinstance(anchor_seq, int) or not isinstance(head_seq, int):
        return
    if details.get("found_hash") is None:
        report.add(head_seq + 1, FindingKind.MISSING_AFTER_CHECKPOINT,
                   f"{_span(head_seq + 1, anchor_seq)}: removed while the platform was stopped (its anchor file "
                   f"had signed them; noted when it started again, entry {entry.seq})")
    else:
        report.add(anchor_seq, FindingKind.CHECKPOINT_MISMATCH,
                   f"entry {anchor_seq} differed from the one the anchor file signed when the platform started "
                   f"again (noted in entry {entry.seq}): rewritten while it was stopped")


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
