"""`clearsight audit verify` as a process against a real data directory: intact, then each kind of tampering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clearsight.audit import AuditAction, AuditLog, CheckpointPolicy
from clearsight.audit.anchor import ANCHOR_FILE
from clearsight.audit.rows import ENTRIES, entry_values
from clearsight.signing import SigningKey
from tests.audit.chain_tools import append_forged, execute, stored_entries

ENTRY_COUNT = 30
CHECKPOINT_EVERY = 10  # periodic checkpoints at 10, 20, 30; then the stop checkpoint at 30


def audit_cli(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLEARSIGHT_DATA_DIR": str(data_dir), "CLEARSIGHT_DATABASE_URL": database_url}
    env.pop("CLEARSIGHT_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "clearsight.cli", "--log-level", "WARNING", "audit", *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
async def written_chain(sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey, tmp_path: Path) -> None:
    """ENTRY_COUNT entries written by a platform that then stopped cleanly; the key in the data dir."""
    log = AuditLog(sessions, signing_key, policy=CheckpointPolicy(every_entries=CHECKPOINT_EVERY, every_seconds=3600),
                   anchor=tmp_path / ANCHOR_FILE)
    await log.start()
    for n in range(1, ENTRY_COUNT + 1):
        await log.record(AuditAction.LIVE_START if n % 2 else AuditAction.LIVE_STOP, actor=f"user{n % 3}",
                         target="34020000001310000001", client="192.0.2.9", details={"n": n})
    await log.close()


async def alter(engine: AsyncEngine) -> None:
    await execute(engine, "UPDATE audit_entries SET actor = 'someone else' WHERE seq = 7")


async def delete(engine: AsyncEngine) -> None:
    await execute(engine, "DELETE FROM audit_entries WHERE seq = 12")


async def reorder(engine: AsyncEngine) -> None:
    await execute(engine, "UPDATE audit_entries SET seq = -1 WHERE seq = 15")
    await execute(engine, "UPDATE audit_entries SET seq = 15 WHERE seq = 16")
    await execute(engine, "UPDATE audit_entries SET seq = 16 WHERE seq = -1")


async def forge_appended(engine: AsyncEngine) -> None:
    await append_forged(engine)


async def truncate_tail(engine: AsyncEngine) -> None:
    await execute(engine, "DELETE FROM audit_entries WHERE seq > 27")


async def truncate_tail_and_checkpoints(engine: AsyncEngine) -> None:
    await execute(engine, "DELETE FROM audit_entries WHERE seq > 20")
    await execute(engine, "DELETE FROM audit_checkpoints WHERE seq > 20")


async def forge_checkpoint(engine: AsyncEngine) -> None:
    await execute(engine, "UPDATE audit_checkpoints SET hash = :fake WHERE seq = 20", fake="ab" * 32)


async def rewrite_chain(engine: AsyncEngine) -> None:
    """Alter entry 5 and re-hash everything after it, as someone without the platform key can."""
    from clearsight.audit import AuditEvent
    from clearsight.audit.entry import chain_entry

    entries = await stored_entries(engine)
    previous_hash = entries[3].hash
    async with engine.begin() as connection:
        for entry in entries[4:]:
            actor = "someone else" if entry.seq == 5 else entry.actor
            event = AuditEvent(entry.action, actor, entry.at, entry.target, entry.client, entry.grant, entry.reason,
                               entry.details)
            new = chain_entry(entry.seq, event, previous_hash)
            previous_hash = new.hash
            values = entry_values(new)
            await connection.execute(update(ENTRIES).where(ENTRIES.c.seq == entry.seq).values(values))


TAMPERING: list[tuple[Callable[[AsyncEngine], Awaitable[None]], int, str]] = [
    (alter, 7, "hash mismatch"),
    (delete, 12, "missing sequence"),
    (reorder, 15, "reordered"),
    (forge_appended, ENTRY_COUNT + 1, "entries not written by the platform"),
    (truncate_tail, 28, "entries missing after checkpoint"),
    (truncate_tail_and_checkpoints, 21, "entries missing after checkpoint"),  # the anchor file still tells
    (forge_checkpoint, 20, "checkpoint signature invalid"),
    (rewrite_chain, 1, "checkpoint does not match the chain"),  # entries 1..10: the first checkpoint after 5
]


async def test_intact_chain_exits_0(written_chain: None, tmp_path: Path, database_url: str) -> None:
    result = audit_cli(tmp_path, database_url, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{ENTRY_COUNT} entries" in result.stdout and "intact" in result.stdout


@pytest.mark.parametrize(("tamper", "seq", "kind"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING])
async def test_tampering_names_the_first_broken_entry(
    written_chain: None, tmp_path: Path, database_url: str, db_engine: AsyncEngine,
    tamper: Callable[[AsyncEngine], Awaitable[None]], seq: int, kind: str,
) -> None:
    await tamper(db_engine)
    result = audit_cli(tmp_path, database_url, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"BROKEN: first broken entry {seq} ({kind})" in result.stdout, result.stdout
    if tamper is alter:
        report = json.loads(audit_cli(tmp_path, database_url, "verify", "--json").stdout)
        assert report["intact"] is False and report["first_broken"] == {
            "seq": 7, "kind": "hash mismatch", "detail": report["findings"][0]["detail"]}


async def test_without_the_platform_key_it_cannot_check(written_chain: None, tmp_path: Path,
                                                        database_url: str) -> None:
    (tmp_path / "signing_key.pem").unlink()
    result = audit_cli(tmp_path, database_url, "verify")
    assert result.returncode == 2 and "no platform signing key" in result.stderr


async def test_export_csv_and_json(written_chain: None, tmp_path: Path, database_url: str) -> None:
    result = audit_cli(tmp_path, database_url, "export", "--format", "json", "--actor", "user1")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [entry["seq"] for entry in entries] == list(range(1, ENTRY_COUNT + 1, 3))
    assert entries[0]["details"] == {"n": 1} and len(entries[0]["hash"]) == 64

    out = tmp_path / "audit.csv"
    result = audit_cli(tmp_path, database_url, "export", "--format", "csv", "--since", "2000-01-01",
                       "--until", "2999-01-01T00:00:00+08:00", "--output", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "seq,at,actor,action,target,client,grant,reason,details,prev_hash,hash"
    assert len(lines) == ENTRY_COUNT + 1 and lines[1].startswith("1,")
