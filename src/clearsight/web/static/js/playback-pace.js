// Pacing a recording's playback (the `pace` of `MsePlayer`). The platform places a recording on one media
// timeline that starts at 0 and never jumps, each fragment lasting its recorded duration divided by the speed,
// and sends about a second ahead of the playhead: so the video plays at rate 1 whatever the speed, a little
// faster when several seconds have piled up (a stall), and jumps only when far behind. Gaps in the buffer (the
// start, a seek's reset) are skipped as in live view. Pure; ranges as in live-edge.js.

import { CATCH_UP_RATE, gapSkipTarget, liveLag } from './live-edge.js';

export const CATCH_UP_AHEAD_S = 3; // more buffered ahead than this: play a little faster ...
export const CAUGHT_UP_AHEAD_S = 1.5; // ... until back under this (the platform's lead is ~1 s)
export const JUMP_AHEAD_S = 10; // further behind than this: jump ...
export const JUMP_LANDS_AHEAD_S = 1; // ... to this far before the newest frame

/** Where to seek, or null: skip gaps, and jump when far behind what the platform has sent. */
export function playbackSeekTarget(ranges, currentTime) {
  if (ranges.length === 0) return null;
  const last = ranges[ranges.length - 1];
  if (currentTime >= last.start && last.end - currentTime > JUMP_AHEAD_S) return last.end - JUMP_LANDS_AHEAD_S;
  return gapSkipTarget(ranges, currentTime);
}

/** The playback rate: 1, or CATCH_UP_RATE while too much has piled up ahead (with hysteresis). */
export function playbackRateAt(ranges, currentTime, currentRate) {
  const ahead = liveLag(ranges, currentTime);
  if (ahead > CATCH_UP_AHEAD_S) return CATCH_UP_RATE;
  if (ahead < CAUGHT_UP_AHEAD_S) return 1;
  return currentRate === CATCH_UP_RATE ? CATCH_UP_RATE : 1;
}

/** The `pace` for `MsePlayer` playing a recording. */
export const PLAYBACK_PACE = Object.freeze({
  seekTarget: playbackSeekTarget,
  rate: playbackRateAt,
  // Fragments are played in the order they come, wherever their timestamps put them: a seek's new fragments
  // then follow on from what is buffered, and a server whose timeline did jump would still play.
  sequence: true,
});
