"""A channel's live stream in the hub, by channel surrogate key: shared by live view, snapshots, recording.

Everyone who wants a channel's video asks here, so a viewer, the recorder and a snapshot of the same channel
share one source (one INVITE).
"""

from __future__ import annotations

from typing import Protocol

from clearsight.media.hub import HubStream, MediaSource, StreamHub


class UnknownChannel(Exception):
    def __init__(self, channel_id: int) -> None:
        super().__init__(f"no channel {channel_id}")
        self.channel_id = channel_id


class ChannelAddress(Protocol):
    @property
    def device_id(self) -> str: ...
    @property
    def gb_id(self) -> str: ...


class ChannelLookup(Protocol):
    async def get_channel(self, channel_pk: int) -> ChannelAddress | None: ...


class LiveSourceOpener(Protocol):
    async def open_live_source(self, device_id: str, channel_gb_id: str) -> MediaSource: ...


def stream_key(channel_id: int) -> str:
    return f"channel:{channel_id}"


class ChannelStreams:
    def __init__(self, hub: StreamHub, channels: ChannelLookup, sources: LiveSourceOpener) -> None:
        self.hub = hub
        self._channels = channels
        self._sources = sources

    def running(self, channel_id: int) -> HubStream | None:
        return self.hub.get(stream_key(channel_id))

    async def open(self, channel_id: int) -> HubStream:
        """The channel's running stream, opened when none runs.

        Raises UnknownChannel, or what opening raises: `DeviceOffline`, `LiveViewError` (naming the step),
        `StreamNotReady` (no keyframe in time).
        """
        channel = await self._channels.get_channel(channel_id)
        if channel is None:
            raise UnknownChannel(channel_id)
        device_id, gb_id = channel.device_id, channel.gb_id

        async def opener() -> MediaSource:
            return await self._sources.open_live_source(device_id, gb_id)

        return await self.hub.open(stream_key(channel_id), opener)
