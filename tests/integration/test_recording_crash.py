"""kill -9 of a recording `clearsight serve`, then a restart: start-up repair makes the index and the files agree.

The kill leaves an open segment (its row `open`). On top of what the kill leaves, the test adds what a crash
of the machine at a worse moment could: half a fragment at the end of the open file (a torn write), a closed
segment whose row never reached the database (an orphan file), a row whose file is gone (a delete cut short).
After the restart every row has its file with the indexed size, the open segment is cut back to its last whole
fragment and decodes with PyAV, the orphan is indexed, the row without a file is gone, the time the platform
was down is a gap, the log says what was repaired, and recording goes on.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from clearsight.recording.fmp4_scan import scan_segment
from tests.conftest import ServerDatabase
from tests.integration.conftest import sim_args, start_sim
from tests.integration.processes import PlatformProcess, SimProcess, free_port, wait_until

pytestmark = pytest.mark.integration

SEGMENT_SECONDS = 3


def _engine(process: PlatformProcess) -> Engine:
    if process.database_url:
        return create_engine(make_url(process.database_url).set(drivername="postgresql+psycopg"))
    return create_engine(f"sqlite:///{process.data_dir / 'clearsight.db'}")


def _rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(text("SELECT id, channel_id, path, size, state, sha256, keyframes, start_at, "
                                         "end_at FROM recording_segments ORDER BY id"))
        return [dict(row._mapping) for row in result]


def _decodes(path: Path) -> int:
    with av.open(str(path)) as container:
        return len(list(container.decode(video=0)))


def test_kill_9_while_recording_then_repair_at_start(tmp_path: Path, sims: list[SimProcess],
                                                     server_database: ServerDatabase) -> None:
    platform = PlatformProcess(data_dir=tmp_path / "platform", sip_port=free_port(), http_port=free_port(),
                               database_url=server_database(),
                               extra_env={"CLEARSIGHT_KEEPALIVE_INTERVAL": "1",
                                          "CLEARSIGHT_RECORDING_DEFAULT": "continuous",
                                          "CLEARSIGHT_RECORDING_SEGMENT_SECONDS": str(SEGMENT_SECONDS)})
    platform.start()
    engine = _engine(platform)
    root = platform.data_dir / "recordings"
    try:
        start_sim(sims, sim_args(platform, channels=1))

        def recorded_enough() -> bool:
            rows = _rows(engine)
            return sum(r["state"] == "complete" for r in rows) >= 3 and any(r["state"] == "open" for r in rows)

        wait_until(recorded_enough, timeout=40)
        time.sleep(1.3)  # into the open segment, past a checkpoint-free stretch
        assert platform.proc is not None
        os.kill(platform.proc.pid, signal.SIGKILL)
        platform.proc.wait(10)

        rows = _rows(engine)
        [open_row] = [r for r in rows if r["state"] == "open"]
        complete = [r for r in rows if r["state"] == "complete"]
        open_path = root / open_row["path"]
        with open(open_path, "rb") as stream:
            scan = scan_segment(stream, open_path.stat().st_size)
        assert scan.fragments and scan.valid_end == open_path.stat().st_size  # kill -9 loses no written batch
        whole_size = scan.valid_end
        last = scan.fragments[-1]
        with open(open_path, "rb") as stream:
            stream.seek(last.offset)
            torn = stream.read((last.end - last.offset) // 2)
        with open(open_path, "ab") as stream:  # a torn write: half a fragment more
            stream.write(torn)
        orphan, missing = complete[0], complete[1]
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM recording_segments WHERE id = :id"), {"id": orphan["id"]})
        (root / missing["path"]).unlink()
        killed_at = datetime.now(UTC)

        platform.start()

        def repaired() -> bool:
            return "recording index repaired" in platform.log()

        wait_until(repaired, timeout=30)
        line = next(x for x in platform.log().splitlines() if "recording index repaired" in x)
        assert "1 left open closed" in line and "1 truncated" in line and "1 missing files unindexed" in line
        assert "1 orphans indexed" in line and "1 gaps added" in line
        with platform.client() as client:
            status = client.get("/api/v1/recording/status").json()
        assert status["repair"]["truncated"] == 1 and status["repair"]["orphans_indexed"] == 1

        after = {r["path"]: r for r in _rows(engine)}
        assert missing["path"] not in after
        assert after[orphan["path"]]["state"] == "repaired" and after[orphan["path"]]["size"] == orphan["size"]
        fixed = after[open_row["path"]]
        assert fixed["state"] == "repaired" and fixed["size"] == whole_size == open_path.stat().st_size
        assert fixed["sha256"] == hashlib.sha256(open_path.read_bytes()).hexdigest()
        assert json.loads(fixed["keyframes"])[0][1] == 0
        assert _decodes(open_path) == len(scan.fragments)
        for path, row in after.items():  # every row has its file, of the indexed size, that decodes
            if row["state"] == "open":
                continue
            assert (root / path).stat().st_size == row["size"], path
            with open(root / path, "rb") as stream:
                assert scan_segment(io.BytesIO(stream.read()), row["size"]).valid_end == row["size"]

        with platform.client() as client:
            pk = next(r["channel_id"] for r in after.values())
            params = {"start": (killed_at - timedelta(minutes=5)).isoformat(),
                      "end": (killed_at + timedelta(minutes=5)).isoformat()}

            def resumed() -> bool:
                body = client.get(f"/api/v1/channels/{pk}/recordings", params=params).json()
                return any(s["start"] > killed_at.isoformat().replace("+00:00", "Z") for s in body["segments"])

            wait_until(resumed, timeout=30)  # the device registered again and is recorded again
            timeline = client.get(f"/api/v1/channels/{pk}/recordings", params=params).json()
        crash = [g for g in timeline["gaps"] if g["reason"] == "platform stopped unexpectedly"]
        assert len(crash) == 1 and crash[0]["end"] is not None
    finally:
        platform.stop()
        engine.dispose()


def test_recording_paths_are_checked_at_start(tmp_path: Path) -> None:
    platform = PlatformProcess(data_dir=tmp_path / "platform", sip_port=free_port(), http_port=free_port(),
                               extra_env={"CLEARSIGHT_RECORDING_PATHS": "main=/srv/video:2T,main=/x"})
    with pytest.raises(RuntimeError, match="CLEARSIGHT_RECORDING_PATHS: storage name 'main' appears twice"):
        platform.start(timeout=15)
