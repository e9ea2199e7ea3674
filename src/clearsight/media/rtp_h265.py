"""H.265 in RTP (RFC 7798): single NAL unit packets, aggregation packets (AP) and fragmentation units (FU).

`H265Depacketizer` splits each payload; `RtpEsDepacketizer` reassembles fragments and access units. It
assumes sprop-max-don-diff 0 (no DONL/DOND fields), which is what a single-stream camera sends; PACI
packets are counted unsupported and their access unit is dropped.
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

NAL_HEADER_BYTES = 2  # H.265 §7.3.1.2: F, nal_unit_type (6 bits), nuh_layer_id (6), nuh_temporal_id_plus1 (3)
AP = 48  # RFC 7798 §4.4.2: aggregation packet
FU = 49  # RFC 7798 §4.4.3: fragmentation unit
PACI = 50  # RFC 7798 §4.4.4: payload content information
FU_START, FU_END = 0x80, 0x40  # RFC 7798 §4.4.3: S and E bits of the FU header
FU_TYPE_MASK = 0x3F  # FuType: the fragmented NAL unit's type
HEADER_KEEP = 0x81  # F and the top bit of nuh_layer_id in the first header byte
LAST_VCL_TYPE = 31  # H.265 Table 7-1: types 0–31 are VCL (coded slice segments and reserved VCL types)
RANDOM_ACCESS_TYPES = range(16, 24)  # IRAP pictures: BLA, IDR, CRA and the reserved IRAP types
PARAMETER_SET_TYPES = frozenset({32, 33, 34})  # VPS, SPS, PPS


class H265Depacketizer(RtpEsDepacketizer):
    codec: ClassVar[Codec] = Codec.H265
    header_size: ClassVar[int] = NAL_HEADER_BYTES
    parameter_set_types: ClassVar[frozenset[int]] = PARAMETER_SET_TYPES

    def split_payload(self, payload: bytes) -> Sequence[PayloadItem]:
        if len(payload) <= NAL_HEADER_BYTES:
            raise PayloadError(f"payload of {len(payload)} bytes")
        nal_type = self.nal_type(payload)
        if nal_type == AP:
            return split_aggregate(payload, NAL_HEADER_BYTES)
        if nal_type == FU:
            if len(payload) < NAL_HEADER_BYTES + 2:
                raise PayloadError("FU without fragment data")
            fu_header = payload[2]
            header = bytes([(payload[0] & HEADER_KEEP) | ((fu_header & FU_TYPE_MASK) << 1), payload[1]])
            return [NalFragment(bool(fu_header & FU_START), bool(fu_header & FU_END), header, payload[3:])]
        if nal_type == PACI:
            raise UnsupportedPacket("PACI packets are not supported")
        if nal_type > PACI:
            raise PayloadError(f"NAL unit type {nal_type} is unspecified in RTP")
        return [payload]

    def nal_type(self, nal: bytes) -> int:
        return (nal[0] >> 1) & 0x3F

    def is_vcl(self, nal_type: int) -> bool:
        return nal_type <= LAST_VCL_TYPE

    def is_random_access(self, nal_type: int) -> bool:
        return nal_type in RANDOM_ACCESS_TYPES

    def first_slice_of_picture(self, nal: bytes) -> bool:
        # first_slice_segment_in_pic_flag is the first bit after the NAL unit header.
        return len(nal) > NAL_HEADER_BYTES and bool(nal[NAL_HEADER_BYTES] & 0x80)
