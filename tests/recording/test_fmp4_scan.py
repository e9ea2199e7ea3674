"""Reading a segment file's fragments back, and cutting a crashed file to its last whole fragment."""

from __future__ import annotations

import io

import av
import pytest

from clearsight.media.es import Codec
from clearsight.recording.fmp4_scan import UnreadableSegment, scan_segment
from tests.recording.samples import Clip, make_clip


def file_of(clip: Clip, count: int) -> bytes:
    return clip.init.data + b"".join(f.data for f in clip.fragments[:count])


def scan(data: bytes):  # type: ignore[no-untyped-def]
    return scan_segment(io.BytesIO(data), len(data))


def test_scan_reads_every_fragment(clip: Clip) -> None:
    data = file_of(clip, 60)
    result = scan(data)
    assert result.init_end == len(clip.init.data) and result.valid_end == len(data)
    assert result.timescale == 90_000 and result.codec == clip.init.parameters.codec_string
    assert len(result.fragments) == 60
    assert [f.keyframe for f in result.fragments] == [f.keyframe for f in clip.fragments[:60]]
    assert [f.decode_time for f in result.fragments] == [f.dts for f in clip.fragments[:60]]
    assert result.span == sum(f.duration for f in clip.fragments[:60])


@pytest.mark.parametrize("cut", [1, 7, 8, 50, 100, 101, 300])
def test_a_cut_file_is_whole_again_at_valid_end(clip: Clip, cut: int) -> None:
    whole = file_of(clip, 30)
    damaged = whole[:-cut]
    result = scan(damaged)
    last_whole = max(i for i in range(31) if len(file_of(clip, i)) <= len(damaged))
    assert len(result.fragments) == last_whole and result.valid_end == len(file_of(clip, last_whole))
    with av.open(io.BytesIO(damaged[:result.valid_end]), format="mp4") as container:
        assert len(list(container.decode(video=0))) == last_whole


def test_a_file_without_init_segment_is_unreadable(clip: Clip) -> None:
    with pytest.raises(UnreadableSegment):
        scan(clip.init.data[:100])
    with pytest.raises(UnreadableSegment):
        scan(b"")
    only_init = scan(clip.init.data)
    assert only_init.fragments == () and only_init.valid_end == len(clip.init.data)


def test_h265_segments_scan() -> None:
    hevc = make_clip(2, codec=Codec.H265)
    result = scan(file_of(hevc, 50))
    assert result.codec in ("hvc1", "hev1") and len(result.fragments) == 50
    assert [f.keyframe for f in result.fragments] == [f.keyframe for f in hevc.fragments[:50]]
    assert sum(f.keyframe for f in result.fragments) == 2
