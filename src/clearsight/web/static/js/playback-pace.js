// Pacing a recording's playback (the `pace` of `MsePlayer`): the platform sends the recording at `speed` times
// real time with its own timestamps, so the video plays at `speed`, a little faster when more than a couple
// of seconds (of wall clock) have piled up ahead of it, and jumps only when far behind. Gaps in the buffer (a
// seek's reset, the start) are skipped as in live view. Pure; ranges as in live-edge.js.

import { gapSkipTarget, liveLag } from './live-edge.js';

export const SPEEDS = [1, 2, 4, 8];
export const CATCH_UP_AHEAD_S = 2; // more buffered ahead than this (× speed): play a little faster ...
export const CAUGHT_UP_AHEAD_S = 1; // ... until back under this (× speed)
export const CATCH_UP_FACTOR = 1.25;
export const JUMP_AHEAD_S = 8; // further behind than this (× speed): jump ...
export const JUMP_LANDS_AHEAD_S = 1; // ... to this far (× speed) before the newest frame

/** Where to seek, or null: skip gaps, and jump when far behind what the platform has sent. */
export function playbackSeekTarget(ranges, currentTime, speed) {
  if (ranges.length === 0) return null;
  const last = ranges[ranges.length - 1];
  if (currentTime >= last.start && last.end - currentTime > JUMP_AHEAD_S * speed) {
    return last.end - JUMP_LANDS_AHEAD_S * speed;
  }
  return gapSkipTarget(ranges, currentTime);
}

/** The playback rate: `speed`, or CATCH_UP_FACTOR × speed while too much has piled up (with hysteresis). */
export function playbackRateAt(ranges, currentTime, currentRate, speed) {
  const ahead = liveLag(ranges, currentTime);
  const faster = speed * CATCH_UP_FACTOR;
  if (ahead > CATCH_UP_AHEAD_S * speed) return faster;
  if (ahead < CAUGHT_UP_AHEAD_S * speed) return speed;
  return currentRate === faster ? faster : speed;
}

/** The `pace` for `MsePlayer` at `speed`. */
export function playbackPace(speed) {
  return Object.freeze({
    seekTarget: (ranges, currentTime) => playbackSeekTarget(ranges, currentTime, speed),
    rate: (ranges, currentTime, currentRate) => playbackRateAt(ranges, currentTime, currentRate, speed),
    // Fragments are played in the order they come: a recording's files, joined across gaps and after
    // seeks, need not carry continuous timestamps.
    sequence: true,
  });
}
