"""Fixtures of the export tests: a signing key, a recorded channel and a package built from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearsight.export.builder import build_package
from clearsight.export.records import BuiltPackage, ChannelPlan, ExportJob
from clearsight.signing import SigningKey, load_or_create_signing_key
from tests.export.recordings import RecordedSegment, plan, record

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
GB_ID = "34020000001310000001"
OTHER_GB_ID = "34020000001310000002"
PLATFORM_ID = "34020000002000000001"


def job(channels: tuple[ChannelPlan, ...], start: float, end: float, *, watermark: bool = False,
        export_id: str = "0123456789abcdef0123456789abcdef") -> ExportJob:
    """An export of seconds `start`..`end` after T0, made by alice a minute after T0."""
    return ExportJob(export_id, PLATFORM_ID, "alice", "case 2026-0042", T0 + timedelta(minutes=1),
                     T0 + timedelta(seconds=start), T0 + timedelta(seconds=end), watermark, channels)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return load_or_create_signing_key(tmp_path_factory.mktemp("key") / "signing_key.pem")


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return load_or_create_signing_key(tmp_path_factory.mktemp("other-key") / "signing_key.pem")


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedSegment]:
    """Channel GB_ID recorded 0–6 s and 8–12 s after T0 (a 2 s gap), in 2 s segments, 10 fps, 1 s GOPs."""
    root = tmp_path_factory.mktemp("recordings")
    return record(root, GB_ID, T0, 6) + record(root, GB_ID, T0 + timedelta(seconds=8), 4)


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory, recording: list[RecordedSegment],
            signing_key: SigningKey) -> BuiltPackage:
    """An export of 3.3–10.5 s of the recording."""
    return build_package(job((plan(1, GB_ID, recording),), 3.3, 10.5), tmp_path_factory.mktemp("exports"),
                         signing_key)
