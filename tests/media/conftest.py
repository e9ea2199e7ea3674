"""Coded video for the media tests, encoded once per session (160x120, a dozen frames)."""

from __future__ import annotations

import pytest

from tests.media.media_samples import EncodedVideo, encode, encode_ts


@pytest.fixture(scope="session")
def h264_video() -> EncodedVideo:
    return encode("h264")


@pytest.fixture(scope="session")
def h265_video() -> EncodedVideo:
    return encode("hevc")


@pytest.fixture(scope="session")
def ts_bytes() -> bytes:
    return encode_ts()
