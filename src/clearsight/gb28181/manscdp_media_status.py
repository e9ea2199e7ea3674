"""MediaStatus notifications (GB/T 28181-2016 §9.8.3, appendix A.2.5): the device says a history stream ended.

A device that has sent the whole requested range of a Playback or Download tells the platform with a
``MESSAGE`` carrying ``<Notify><CmdType>MediaStatus</CmdType>…<NotifyType>121</NotifyType></Notify>``;
the platform then ends the dialog with BYE. ``DeviceID`` is the channel (some NVRs put their own ID). Devices
send it inside the INVITE dialog (same Call-ID and tags, what Hikvision NVRs do) or outside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clearsight.gb28181.manscdp_codec import BodyCharset
from clearsight.gb28181.manscdp_fields import child_int
from clearsight.gb28181.manscdp_message import CmdType, ManscdpMessage, RootKind, expect
from clearsight.gb28181.manscdp_writer import add, new_body, serialize

logger = logging.getLogger(__name__)

MEDIA_FILE_ENDED = 121  # appendix A.2.5: NotifyType 121, "the history media file has been sent completely"


@dataclass(frozen=True, slots=True)
class MediaStatusNotify:
    device_id: str
    sn: int
    notify_type: int | None

    @property
    def file_ended(self) -> bool:
        return self.notify_type == MEDIA_FILE_ENDED


def parse_media_status(msg: ManscdpMessage) -> MediaStatusNotify:
    """Read a MediaStatus Notify; an absent or non-numeric NotifyType is None."""
    expect(msg, CmdType.MEDIA_STATUS, RootKind.NOTIFY)
    return MediaStatusNotify(msg.device_id, msg.sn, child_int(msg.root, "NotifyType"))


def build_media_status(sn: int, device_id: str, notify_type: int = MEDIA_FILE_ENDED, *,
                       charset: BodyCharset = BodyCharset.GB2312) -> bytes:
    """A MediaStatus Notify (for the simulator); ``device_id`` is the channel whose stream ended."""
    root = new_body(RootKind.NOTIFY, CmdType.MEDIA_STATUS, sn, device_id)
    add(root, "NotifyType", notify_type)
    return serialize(root, charset)
