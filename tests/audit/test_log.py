"""Appending to the chain: one writer, batches, checkpoints, restarts, failures and foreign entries."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clearsight.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEvent,
    AuditLog,
    AuditUnavailable,
    CheckpointPolicy,
    FindingKind,
    Severity,
    verify_chain,
)
from clearsight.audit.anchor import ANCHOR_FILE, read_anchor, write_anchor
from clearsight.audit.checkpoints import CheckpointKind, sign_checkpoint
from clearsight.registry.models import utc_now
from clearsight.signing import SigningKey, load_or_create_signing_key
from tests.audit.chain_tools import append_forged, checkpoint_kinds, execute, stored_entries


async def test_record_returns_the_committed_entry(audit_log: AuditLog, db_engine: AsyncEngine) -> None:
    entry = await audit_log.record(AuditAction.LOGIN_SUCCESS, actor="admin", client="192.0.2.1",
                                   details={"method": "password"})
    assert (entry.seq, entry.prev_hash, entry.action) == (1, GENESIS_HASH, "login.success")
    assert await stored_entries(db_engine) == [entry]
    assert audit_log.head == (1, entry.hash)


async def test_concurrent_appends_form_one_contiguous_chain(
    audit_log: AuditLog, db_engine: AsyncEngine, signing_key: SigningKey
) -> None:
    async def user(n: int) -> None:
        for i in range(20):
            await audit_log.record(AuditAction.PTZ, actor=f"user{n}", target=f"channel-{i}")

    bulk = audit_log.record_many(AuditEvent("snapshot", "bulk", utc_now()) for _ in range(300))
    await asyncio.gather(*(user(n) for n in range(40)), bulk)

    entries = await stored_entries(db_engine)
    assert [entry.seq for entry in entries] == list(range(1, 1101))
    assert all(entry.prev_hash == previous.hash for previous, entry in itertools.pairwise(entries))
    bulk_seqs = [entry.seq for entry in entries if entry.actor == "bulk"]
    assert bulk_seqs == list(range(bulk_seqs[0], bulk_seqs[0] + 300))  # record_many is contiguous
    report = await verify_chain(db_engine, signing_key.public_bytes)
    assert report.intact and report.entries == 1100, report.findings


async def test_periodic_checkpoints_by_count_then_stop_on_close(
    audit_log: AuditLog, db_engine: AsyncEngine
) -> None:
    for _ in range(120):
        await audit_log.record(AuditAction.SNAPSHOT, actor="oper")
    await audit_log.close()
    kinds = await checkpoint_kinds(db_engine)
    assert kinds[0] == ("start", 0) and kinds[-1] == ("stop", 120)
    periodic = [seq for kind, seq in kinds if kind == "periodic"]
    assert periodic and all(b - a >= 50 for a, b in zip([0, *periodic], periodic, strict=False))
    with pytest.raises(AuditUnavailable):
        await audit_log.record(AuditAction.SNAPSHOT, actor="oper")


async def test_periodic_checkpoint_after_seconds_while_idle(
    sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey, db_engine: AsyncEngine
) -> None:
    log = AuditLog(sessions, signing_key, policy=CheckpointPolicy(every_entries=1000, every_seconds=0.2))
    await log.start()
    try:
        await log.record(AuditAction.LIVE_START, actor="view")
        await asyncio.sleep(0.5)
        assert ("periodic", 1) in await checkpoint_kinds(db_engine)
        assert log.signed_seq == 1
    finally:
        await log.close()


async def test_restart_continues_the_chain(
    sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey, db_engine: AsyncEngine
) -> None:
    for run in range(2):
        log = AuditLog(sessions, signing_key)
        await log.start()
        await log.record(AuditAction.LOGIN_SUCCESS, actor=f"run{run}")
        await log.close()
    assert await checkpoint_kinds(db_engine) == [("start", 0), ("stop", 1), ("start", 1), ("stop", 2)]
    report = await verify_chain(db_engine, signing_key.public_bytes)
    assert report.intact and not report.findings


async def test_an_unclean_stop_is_noted_at_the_next_start(
    sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey, db_engine: AsyncEngine
) -> None:
    crashed = AuditLog(sessions, signing_key)
    await crashed.start()
    for _ in range(3):
        await crashed.record(AuditAction.PTZ, actor="oper")
    crashed._task.cancel()  # type: ignore[union-attr]  # the process died: no stop checkpoint
    await asyncio.sleep(0)

    log = AuditLog(sessions, signing_key)
    await log.start()
    await log.close()
    note = (await stored_entries(db_engine))[-1]
    assert (note.action, note.actor) == ("audit.unsigned_tail", "system")
    assert note.details == {"first": 1, "last": 3, "after_checkpoint": 0, "previous_stop": "unclean"}
    report = await verify_chain(db_engine, signing_key.public_bytes)
    assert report.intact
    assert [(f.seq, f.kind, f.severity) for f in report.findings] == [(1, FindingKind.UNSIGNED, Severity.WARNING)]


async def test_database_failure_is_reported_and_the_chain_goes_on(audit_log: AuditLog, db_engine: AsyncEngine,
                                                                  signing_key: SigningKey) -> None:
    await audit_log.record(AuditAction.LOGIN_SUCCESS, actor="a")
    await execute(db_engine, "ALTER TABLE audit_entries RENAME TO audit_entries_away")
    try:
        with pytest.raises(AuditUnavailable):
            await audit_log.record(AuditAction.LOGIN_SUCCESS, actor="b")
    finally:
        await execute(db_engine, "ALTER TABLE audit_entries_away RENAME TO audit_entries")
    await audit_log.record(AuditAction.LOGIN_SUCCESS, actor="c")
    assert [entry.actor for entry in await stored_entries(db_engine)] == ["a", "c"]
    assert (await verify_chain(db_engine, signing_key.public_bytes)).intact


async def test_a_cancelled_caller_does_not_unrecord_its_entry(audit_log: AuditLog, db_engine: AsyncEngine) -> None:
    task = asyncio.create_task(audit_log.record(AuditAction.SNAPSHOT, actor="gone"))
    await asyncio.sleep(0)
    task.cancel()
    await audit_log.record(AuditAction.SNAPSHOT, actor="next")
    assert [entry.actor for entry in await stored_entries(db_engine)] == ["gone", "next"]


async def test_entries_from_another_writer_are_noticed(audit_log: AuditLog, db_engine: AsyncEngine,
                                                       signing_key: SigningKey) -> None:
    await audit_log.record(AuditAction.LOGIN_SUCCESS, actor="admin")
    forged = await append_forged(db_engine)
    after = await audit_log.record(AuditAction.LOGIN_SUCCESS, actor="admin")
    assert (after.seq, after.prev_hash) == (forged.seq + 1, forged.hash)
    assert ("resync", forged.seq) in await checkpoint_kinds(db_engine)
    report = await verify_chain(db_engine, signing_key.public_bytes)
    assert report.first_broken is not None
    assert (report.first_broken.seq, report.first_broken.kind) == (forged.seq, FindingKind.NOT_WRITTEN_BY_PLATFORM)


async def test_a_chain_truncated_while_stopped_is_noted_at_start(
    sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey, db_engine: AsyncEngine, tmp_path: Path
) -> None:
    anchor = tmp_path / ANCHOR_FILE
    log = AuditLog(sessions, signing_key, anchor=anchor, policy=CheckpointPolicy(every_entries=5))
    await log.start()
    for _ in range(12):
        await log.record(AuditAction.PTZ, actor="oper")
    await log.close()
    assert read_anchor(anchor) is not None and read_anchor(anchor).seq == 12  # type: ignore[union-attr]
    await execute(db_engine, "DELETE FROM audit_entries WHERE seq > 5")
    await execute(db_engine, "DELETE FROM audit_checkpoints WHERE seq > 5")

    log = AuditLog(sessions, signing_key, anchor=anchor)
    await log.start()
    await log.close()
    note = (await stored_entries(db_engine))[5]
    assert (note.seq, note.action) == (6, "audit.anchor_mismatch")
    assert note.details == {"anchor_seq": 12, "anchor_hash": note.details["anchor_hash"], "found_hash": None,
                            "head_seq": 5}
    report = await verify_chain(db_engine, signing_key.public_bytes, anchor=read_anchor(anchor))
    assert report.first_broken is not None
    assert (report.first_broken.seq, report.first_broken.kind) == (6, FindingKind.MISSING_AFTER_CHECKPOINT)
    assert "removed while the platform was stopped" in report.first_broken.detail


async def test_an_anchor_not_signed_by_the_platform_is_replaced(
    sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey, db_engine: AsyncEngine, tmp_path: Path
) -> None:
    anchor = tmp_path / ANCHOR_FILE
    other_key = load_or_create_signing_key(tmp_path / "other.pem")
    write_anchor(anchor, sign_checkpoint(other_key, CheckpointKind.STOP, 99, "ab" * 32, utc_now()))
    log = AuditLog(sessions, signing_key, anchor=anchor)
    await log.start()
    await log.close()
    assert await stored_entries(db_engine) == []  # nothing noted: a forged anchor proves nothing
    replaced = read_anchor(anchor)
    assert replaced is not None and replaced.signature_valid(signing_key.public_bytes)
