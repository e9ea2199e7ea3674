"""The audit log's one writer: appends are queued, chained and written in batches by a single task.

`AuditLog.record()` returns once its entry is committed, so an action that is audited first (a token
issued, stream URLs handed out) never happens unrecorded: when the entry cannot be written it raises
`AuditUnavailable`. Everything waiting when the writer picks up its next batch goes into one transaction
(up to `max_batch` entries), which is how many concurrent appends share one commit.

The writer keeps the chain head in memory and signs checkpoints (`audit.checkpoints`): at start, every
`policy.every_entries` entries or `policy.every_seconds` seconds while entries arrive (in the same
transaction as the batch that makes one due), and at close. One writer per database: a second writer (or
anyone inserting rows) is noticed when a sequence number is taken, noted with a `resync` checkpoint, and
the chain continues after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.audit.actions import SYSTEM_ACTOR, AuditAction
from clearsight.audit.anchor import InvalidAnchor, read_anchor, write_anchor
from clearsight.audit.checkpoints import Checkpoint, CheckpointKind, CheckpointPolicy, sign_checkpoint
from clearsight.audit.entry import GENESIS_HASH, AuditEntry, AuditEvent, JsonObject, chain_entry
from clearsight.audit.errors import AuditUnavailable
from clearsight.audit.rows import (
    CHECKPOINTS,
    ENTRIES,
    chain_head,
    checkpoint_values,
    entry_hash_at,
    entry_values,
    last_checkpoint,
)
from clearsight.registry.models import utc_now
from clearsight.signing import SigningKey

logger = logging.getLogger(__name__)

MAX_BATCH = 1000  # entries per transaction
MAX_PENDING = 10_000  # appends queued for the writer before callers wait to enqueue theirs
GATHER_YIELDS = 3  # event-loop turns the writer lets pass before taking a batch (a resolved caller's next
#                   append takes about that many to arrive; batches grow, an idle log waits no longer)


@dataclass(slots=True)
class _Pending:
    events: list[AuditEvent]
    done: asyncio.Future[list[AuditEntry]]


class AuditLog:
    """Appends to the hash chain in the database; `start()` before use, `close()` after."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key: SigningKey,
        *,
        policy: CheckpointPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        max_batch: int = MAX_BATCH,
        max_pending: int = MAX_PENDING,
        anchor: Path | None = None,
    ) -> None:
        """`anchor`: the anchor file (`audit.anchor`); None keeps none (tests, embedding)."""
        self._sessions = sessions
        self._anchor_path = anchor
        self._key = key
        self._policy = policy or CheckpointPolicy()
        self._clock = clock
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue(max_pending)
        self._head_seq = 0
        self._head_hash = GENESIS_HASH
        self._signed_seq = 0
        self._signed_mono = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failure: str | None = None
        self.batches_written = 0  # transactions that appended entries

    @property
    def head(self) -> tuple[int, str]:
        """(sequence, hash) of the newest entry this writer committed (or found at start)."""
        return self._head_seq, self._head_hash

    @property
    def signed_seq(self) -> int:
        """The sequence number the newest checkpoint signs."""
        return self._signed_seq

    async def start(self) -> None:
        """Read the head, sign it with a `start` checkpoint, start the writer.

        Notes in the chain itself (system entries) an unsigned tail left by the previous run, and a chain that
        no longer reaches or matches the anchor file (truncated or rewritten while the platform was stopped).
        """
        if self._task is not None:
            raise RuntimeError("the audit log is already started")
        anchor = await self._read_anchor()
        async with self._sessions.begin() as session:
            head_seq, head_hash = await chain_head(session)
            previous = await last_checkpoint(session)
            anchored_hash = await entry_hash_at(session, anchor.seq) if anchor is not None else None
            start = self._sign(CheckpointKind.START, head_seq, head_hash)
            await self._insert_checkpoints(session, [start])
        self._head_seq, self._head_hash = head_seq, head_hash
        self._mark_signed(head_seq)
        self._task = asyncio.create_task(self._run(), name="audit-writer")
        self._task.add_done_callback(self._on_writer_done)
        logger.info("audit log started at sequence %d", head_seq)
        if anchor is not None and anchored_hash != anchor.hash and anchor.seq > 0:
            logger.critical("audit chain does not match its anchor: the anchor signs entry %d (%s…), the database "
                            "has %s", anchor.seq, anchor.hash[:16],
                            f"{anchored_hash[:16]}… there" if anchored_hash else f"entries only up to {head_seq}")
            await self.record(AuditAction.AUDIT_ANCHOR_MISMATCH, actor=SYSTEM_ACTOR, details={
                "anchor_seq": anchor.seq, "anchor_hash": anchor.hash, "found_hash": anchored_hash,
                "head_seq": head_seq})
        previous_seq = previous.seq if previous is not None else 0
        if head_seq > previous_seq:
            clean = previous is not None and previous.kind == CheckpointKind.STOP
            log = logger.critical if clean or previous is None else logger.warning
            log("audit entries %d..%d follow the last checkpoint (%s at %d): %s", previous_seq + 1, head_seq,
                previous.kind if previous else "none", previous_seq,
                "written while the platform was stopped" if clean else "the platform stopped without signing them")
            await self.record(AuditAction.AUDIT_UNSIGNED_TAIL, actor=SYSTEM_ACTOR, details={
                "first": previous_seq + 1, "last": head_seq, "after_checkpoint": previous_seq,
                "previous_stop": "clean" if clean else "unclean"})
        await self._write_anchor([start])

    async def record(
        self,
        action: str,
        *,
        actor: str,
        target: str | None = None,
        client: str | None = None,
        grant: str | None = None,
        reason: str | None = None,
        details: JsonObject | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry; returns it once committed. Raises AuditUnavailable or InvalidAuditEvent."""
        event = AuditEvent(str(action), actor, at or self._clock(), target, client, grant, reason, details or {})
        return (await self._submit([event.normalised()]))[0]

    async def record_many(self, events: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Append several entries in order (contiguous in the chain); returns them once committed."""
        normalised = [event.normalised() for event in events]
        return await self._submit(normalised) if normalised else []

    async def close(self) -> None:
        """Write what is queued, sign a `stop` checkpoint, stop the writer. Later appends are refused."""
        if self._task is None:
            return
        if not self._closing:
            self._closing = True
            await self._queue.put(None)
        if not self._task.done():
            await asyncio.wait([self._task])
        logger.info("audit log closed at sequence %d", self._head_seq)

    async def _submit(self, events: list[AuditEvent]) -> list[AuditEntry]:
        if self._failure is not None:
            raise AuditUnavailable(self._failure)
        if self._task is None or self._closing:
            raise AuditUnavailable("the audit log is not running")
        done: asyncio.Future[list[AuditEntry]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(events, done))
        # A caller cancelled meanwhile cancels only its wait: its entry stays queued and is written.
        return await done

    async def _run(self) -> None:
        closing = False
        while not closing:
            try:
                first = await asyncio.wait_for(self._queue.get(), self._seconds_until_checkpoint())
            except TimeoutError:
                await self._write([], CheckpointKind.PERIODIC)
                continue
            for _ in range(GATHER_YIELDS):
                await asyncio.sleep(0)  # callers whose last entry was just committed queue their next one
            batch: list[_Pending] = []
            count = 0
            item: _Pending | None = first
            while True:
                if item is None:
                    closing = True
                    break
                batch.append(item)
                count += len(item.events)
                if count >= self._max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                try:
                    await self._write(batch, None)
                except BaseException as exc:
                    _fail(batch, AuditUnavailable(f"writer failed: {exc!r}"))
                    raise
        await self._write([], CheckpointKind.STOP)

    def _seconds_until_checkpoint(self) -> float | None:
        if self._head_seq == self._signed_seq:
            return None
        return max(0.0, self._policy.every_seconds - (time.monotonic() - self._signed_mono))

    async def _write(self, batch: Sequence[_Pending], kind: CheckpointKind | None) -> None:
        events = [event for pending in batch for event in pending.events]
        for attempt in (1, 2):
            entries = _chain(self._head_seq, self._head_hash, events)
            head_seq, head_hash = (entries[-1].seq, entries[-1].hash) if entries else self.head
            checkpoint_kind = kind or (CheckpointKind.PERIODIC if self._checkpoint_due(head_seq) else None)
            if checkpoint_kind is CheckpointKind.PERIODIC and head_seq == self._signed_seq:
                checkpoint_kind = None  # nothing new to sign
            checkpoints = [self._sign(checkpoint_kind, head_seq, head_hash)] if checkpoint_kind else []
            try:
                async with self._sessions.begin() as session:
                    if entries:
                        await session.execute(insert(ENTRIES), [entry_values(entry) for entry in entries])
                    await self._insert_checkpoints(session, checkpoints)
            except IntegrityError:
                if attempt == 2:
                    _fail(batch, AuditUnavailable("sequence numbers taken again after resynchronising"))
                    return
                await self._resync()
                continue
            except SQLAlchemyError as exc:
                logger.error("audit entries %d..%d not written: %s", self._head_seq + 1, head_seq, exc)
                _fail(batch, AuditUnavailable(str(exc)))
                return
            break
        self._head_seq, self._head_hash = head_seq, head_hash
        if checkpoints:
            self._mark_signed(head_seq)
            await self._write_anchor(checkpoints)
        if entries:
            self.batches_written += 1
        offset = 0
        for pending in batch:
            size = len(pending.events)
            if not pending.done.done():
                pending.done.set_result(entries[offset:offset + size])
            offset += size

    def _checkpoint_due(self, head_seq: int) -> bool:
        unsigned = head_seq - self._signed_seq
        elapsed = time.monotonic() - self._signed_mono
        return unsigned >= self._policy.every_entries or (unsigned > 0 and elapsed >= self._policy.every_seconds)

    async def _resync(self) -> None:
        """Someone else wrote entries: sign our own head, then the database's with a `resync` checkpoint."""
        async with self._sessions.begin() as session:
            seq, hash_ = await chain_head(session)
            checkpoints = []
            if self._head_seq > self._signed_seq:
                checkpoints.append(self._sign(CheckpointKind.PERIODIC, self._head_seq, self._head_hash))
            checkpoints.append(self._sign(CheckpointKind.RESYNC, seq, hash_))
            await self._insert_checkpoints(session, checkpoints)
        logger.critical("audit chain: entries %d..%d were not written by this platform's writer; continuing after "
                        "them (resync checkpoint)", self._head_seq + 1, seq)
        self._head_seq, self._head_hash = seq, hash_
        self._mark_signed(seq)
        await self._write_anchor(checkpoints)

    async def _read_anchor(self) -> Checkpoint | None:
        if self._anchor_path is None:
            return None
        try:
            anchor = await asyncio.to_thread(read_anchor, self._anchor_path)
        except InvalidAnchor as exc:
            logger.critical("audit anchor unreadable, replaced at start: %s", exc)
            return None
        if anchor is not None and not anchor.signature_valid(self._key.public_bytes):
            logger.critical("audit anchor %s is not signed by the platform key; replaced at start", self._anchor_path)
            return None
        return anchor

    async def _write_anchor(self, checkpoints: list[Checkpoint]) -> None:
        if self._anchor_path is None or not checkpoints:
            return
        try:
            await asyncio.to_thread(write_anchor, self._anchor_path, checkpoints[-1])
        except OSError as exc:
            logger.error("audit anchor %s not written: %s", self._anchor_path, exc)

    def _sign(self, kind: CheckpointKind, seq: int, hash_: str) -> Checkpoint:
        return sign_checkpoint(self._key, kind, seq, hash_, self._clock())

    def _mark_signed(self, seq: int) -> None:
        self._signed_seq = seq
        self._signed_mono = time.monotonic()

    @staticmethod
    async def _insert_checkpoints(session: AsyncSession, checkpoints: list[Checkpoint]) -> None:
        if checkpoints:
            await session.execute(insert(CHECKPOINTS), [checkpoint_values(cp) for cp in checkpoints])

    def _on_writer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            self._failure = "the audit writer was cancelled"
        elif (exc := task.exception()) is not None:
            self._failure = f"the audit writer failed: {exc!r}"
            logger.critical("audit writer stopped by an error; appends are refused", exc_info=exc)
        else:
            self._failure = "the audit log is closed"
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                _fail([item], AuditUnavailable(self._failure))


def _chain(head_seq: int, head_hash: str, events: Sequence[AuditEvent]) -> list[AuditEntry]:
    entries = []
    for offset, event in enumerate(events, start=1):
        entry = chain_entry(head_seq + offset, event, head_hash)
        head_hash = entry.hash
        entries.append(entry)
    return entries


def _fail(batch: Iterable[_Pending], error: AuditUnavailable) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(error)
