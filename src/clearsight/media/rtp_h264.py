"""H.264 in RTP (RFC 6184), non-interleaved mode: single NAL unit packets, STAP-A and FU-A.

`H264Depacketizer` splits each payload; `RtpEsDepacketizer` reassembles fragments and access units. Packets
of the interleaved mode (STAP-B, MTAP16/24, FU-B), which GB/T 28181 devices do not use, are counted
unsupported and their access unit is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from clearsight.media.es import Codec
from clearsight.media.rtp_es_depacketizer import (
    NalFragment,
    PayloadError,
    PayloadItem,
    RtpEsDepacketizer,
    UnsupportedPacket,
    split_aggregate,
)

NAL_TYPE_MASK = 0x1F  # H.264 §7.3.1: nal_unit_type, the low 5 bits of the header byte
SINGLE_NAL_TYPES = range(1, 24)  # RFC 6184 §5.4: types 1–23 are sent as they are
STAP_A = 24  # RFC 6184 §5.7.1: single-time aggregation packet
INTERLEAVED_TYPES = {25: "STAP-B", 26: "MTAP16", 27: "MTAP24", 29: "FU-B"}  # RFC 6184 Table 3
FU_A = 28  # RFC 6184 §5.8: fragmentation unit
FU_START, FU_END = 0x80, 0x40  # RFC 6184 §5.8: S and E bits of the FU header
FU_INDICATOR_KEEP = 0xE0  # F and NRI of the fragmented NAL unit travel in the FU indicator
SLICE_TYPES = frozenset({1, 2, 5})  # non-IDR slice, data partition A, IDR slice: begin with first_mb_in_slice
VCL_TYPES = frozenset(range(1, 6))  # H.264 Table 7-1: coded slices and data partitions
IDR_TYPE = 5
PARAMETER_SET_TYPES = frozenset({7, 8})  # SPS, PPS


class H264Depacketizer(RtpEsDepacketizer):
    codec: ClassVar[Codec] = Codec.H264
    header_size: ClassVar[int] = 1
    parameter_set_types: ClassVar[frozenset[int]] = PARAMETER_SET_TYPES

    def split_payload(self, payload: bytes) -> Sequence[PayloadItem]:
        if not payload:
            raise PayloadError("empty payload")
        nal_type = payload[0] & NAL_TYPE_MASK
        if nal_type in SINGLE_NAL_TYPES:
            return [payload]
        if nal_type == STAP_A:
            return split_aggregate(payload, 1)
        if nal_type == FU_A:
            if len(payload) < 3:
                raise PayloadError("FU-A without fragment data")
            fu_header = payload[1]
            header = bytes([(payload[0] & FU_INDICATOR_KEEP) | (fu_header & NAL_TYPE_MASK)])
            return [NalFragment(bool(fu_header & FU_START), bool(fu_header & FU_END), header, payload[2:])]
        if nal_type in INTERLEAVED_TYPES:
            raise UnsupportedPacket(f"{INTERLEAVED_TYPES[nal_type]} (interleaved mode) is not supported")
        raise PayloadError(f"NAL unit type {nal_type} is reserved")

    def nal_type(self, nal: bytes) -> int:
        return nal[0] & NAL_TYPE_MASK

    def is_vcl(self, nal_type: int) -> bool:
        return nal_type in VCL_TYPES

    def is_random_access(self, nal_type: int) -> bool:
        return nal_type == IDR_TYPE

    def first_slice_of_picture(self, nal: bytes) -> bool:
        # first_mb_in_slice is the slice header's first field, ue(v): a leading "1" bit codes 0.
        return (nal[0] & NAL_TYPE_MASK) in SLICE_TYPES and len(nal) > 1 and bool(nal[1] & 0x80)
