"""The clocks of a recorded playback: recorded instants → the session's media timeline → the wall clock.

Pure bookkeeping, no I/O (`RecordedPlayback` drives it). Media time is what goes into the fragments' `tfdt`: it
starts at 0 and never jumps (each fragment starts where the last one sent ended, so a gap in the recording, a
segment boundary, a change of speed or of the frames sent leaves no hole for MSE) and runs at the wall clock's
rate whatever the speed, because a recorded duration is divided by the speed on the way in. So the browser
plays at `playbackRate` 1 and the server paces by the wall clock alone: a fragment is due once the client's
playhead is within `lead` of it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearsight.media.fmp4 import PTS_CLOCK_HZ

PLAYHEAD_HISTORY = 512  # fragments remembered to say which recorded instant the client's playhead shows


def span(ticks_: int) -> timedelta:
    return timedelta(microseconds=round(ticks_ * 1_000_000 / PTS_CLOCK_HZ))


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a recorded sample goes on the media timeline."""

    decode_time: int  # 90 kHz ticks of media time
    duration: int


class PlaybackTimeline:
    """Media time of each sample sent, and the client's playhead estimated from the wall clock."""

    def __init__(self, lead: float) -> None:
        self.lead_ticks = int(lead * PTS_CLOCK_HZ)
        self.next_media = 0  # where the next sample starts
        self._wall: tuple[float, int] | None = None  # (wall clock, media time) the playhead was at
        self._paused_at: int | None = None
        self._sent: deque[tuple[int, datetime, int]] = deque(maxlen=PLAYHEAD_HISTORY)  # (media, recorded, speed)

    # --- recorded → media ------------------------------------------------------------------------
    def place(self, duration: int, speed: int) -> Placement:
        """Where the next sample goes: right after the last one sent (`sent` commits it), lasting its recorded
        duration divided by the speed. Recorded time reaches the media timeline through the durations only, so
        whatever was left out before a sample (a gap, frames of another speed) leaves no hole."""
        return Placement(self.next_media, max(1, round(duration / speed)))

    def sent(self, placement: Placement, at: datetime, speed: int) -> None:
        self.next_media = placement.decode_time + placement.duration
        self._sent.append((placement.decode_time, at, speed))

    # --- media ↔ wall clock ----------------------------------------------------------------------
    def _played(self, now: float) -> int | None:
        """Media time by the wall clock since playing started (past what was sent, when the client stalled)."""
        if self._paused_at is not None:
            return self._paused_at
        if self._wall is None:
            return None
        wall_at, media_at = self._wall
        return media_at + int((now - wall_at) * PTS_CLOCK_HZ)

    def playhead(self, now: float) -> int:
        """The media time the client is showing now (estimated: it plays what it has at the wall clock's rate)."""
        played = self._played(now)
        return self.next_media if played is None else min(played, self.next_media)

    def unplayed(self, now: float) -> float:
        """Seconds of the media sent that the client has not played yet (estimated as `playhead`)."""
        return (self.next_media - self.playhead(now)) / PTS_CLOCK_HZ

    def due_in(self, decode_time: int, now: float) -> float:
        """Seconds until a sample at `decode_time` is to be sent (≤ 0: now). The first one starts the clock; one
        late by more than the lead (the client ran out of video and waited) starts it again."""
        played = self._played(now)
        if played is None or played - decode_time > self.lead_ticks:
            self._wall = (now, decode_time)
            return 0.0
        return (decode_time - self.lead_ticks - played) / PTS_CLOCK_HZ

    def pause(self, now: float) -> None:
        if self._paused_at is None:
            self._paused_at = self.playhead(now)

    def resume(self, now: float) -> None:
        if self._paused_at is not None:
            self._wall = (now, self._paused_at)
            self._paused_at = None

    def restart_at_playhead(self, now: float) -> int:
        """After a seek the client empties its buffer: new media starts where its playhead is. Returns that."""
        media = self.playhead(now)
        self.next_media = media
        if self._paused_at is not None:
            self._paused_at = media
        else:
            self._wall = None
        self._sent.clear()
        return media

    # --- media → recorded ------------------------------------------------------------------------
    def recorded_at_playhead(self, now: float) -> datetime | None:
        """The recorded instant the client's playhead shows, None before anything was sent."""
        media = self.playhead(now)
        shown = None
        for decode_time, at, speed in self._sent:
            if decode_time > media:
                break
            shown = (decode_time, at, speed)
        if shown is None:
            return self._sent[0][1] if self._sent else None
        decode_time, at, speed = shown
        return at + span((media - decode_time) * speed)
