// Keeping a live picture live: where to seek so playback stays near the newest frame, and how much old
// buffer to drop. Pure functions over buffered time ranges ([{start, end}] in seconds, ascending).

export const MAX_LIVE_LAG_S = 0.5; // further behind the newest frame than this: jump forward
export const LIVE_EDGE_TARGET_S = 0.1; // where a jump lands: this far behind the newest frame
export const GAP_TOLERANCE_S = 0.1; // a position this close to a range counts as inside it
// The newest buffered frame ends one frame interval (40 ms at 25 fps) after it is shown, so a lag of
// ~0.05 s is as live as it gets; bench/live_latency.py measured lags of 0.04-0.28 s that never drained.
export const CATCH_UP_ABOVE_S = 0.15; // further behind than this: play a little faster ...
export const CAUGHT_UP_BELOW_S = 0.08; // ... until this close again
export const CATCH_UP_RATE = 1.1; // fast enough to close 0.2 s in 2 s, too little to notice
export const BUFFER_KEEP_S = 10; // keep this much already-played video
export const TRIM_SLACK_S = 2; // ... and trim only when this much more has piled up

/** TimeRanges → [{start, end}]. */
export function rangesOf(timeRanges) {
  const ranges = [];
  for (let i = 0; i < timeRanges.length; i++) ranges.push({ start: timeRanges.start(i), end: timeRanges.end(i) });
  return ranges;
}

/** Seconds from `currentTime` to the newest buffered frame (0 with nothing buffered). */
export function liveLag(ranges, currentTime) {
  return ranges.length ? Math.max(0, ranges[ranges.length - 1].end - currentTime) : 0;
}

/**
 * Where to seek, or null to leave playback alone: near the live edge when too far behind it, and to the
 * start of the next buffered range when playback sits before the first one (the start) or in a gap.
 */
export function seekTarget(ranges, currentTime) {
  if (ranges.length === 0) return null;
  const last = ranges[ranges.length - 1];
  if (last.end - currentTime > MAX_LIVE_LAG_S) {
    // A newest range short enough to play from its start (the stream's start, or after a gap) is played
    // whole; in a longer one, land just behind its end.
    return last.end - last.start <= MAX_LIVE_LAG_S ? last.start : last.end - LIVE_EDGE_TARGET_S;
  }
  return gapSkipTarget(ranges, currentTime);
}

/** The start of the next buffered range when `currentTime` is before the first one or in a gap, else null. */
export function gapSkipTarget(ranges, currentTime) {
  const inside = ranges.some((r) => currentTime >= r.start - GAP_TOLERANCE_S && currentTime <= r.end + GAP_TOLERANCE_S);
  if (inside) return null;
  const next = ranges.find((r) => r.start > currentTime);
  return next ? next.start : null;
}

/** The end of the old buffer to remove, or null when there is not enough to bother. */
export function trimEnd(ranges, currentTime) {
  if (ranges.length === 0) return null;
  const oldest = ranges[0].start;
  if (currentTime - oldest <= BUFFER_KEEP_S + TRIM_SLACK_S) return null;
  return currentTime - BUFFER_KEEP_S;
}

/**
 * The playback rate that closes a small lag without a seek (a seek costs the frames decoded since the last
 * keyframe): faster above CATCH_UP_ABOVE_S, normal again below CAUGHT_UP_BELOW_S, unchanged between.
 */
export function playbackRateFor(lag, currentRate) {
  if (lag > CATCH_UP_ABOVE_S) return CATCH_UP_RATE;
  if (lag < CAUGHT_UP_BELOW_S) return 1;
  return currentRate;
}

/** How the player paces a live stream (see `MsePlayer`): held near the newest frame. */
export const LIVE_PACE = Object.freeze({
  seekTarget,
  rate: (ranges, currentTime, currentRate) => playbackRateFor(liveLag(ranges, currentTime), currentRate),
  sequence: false, // the stream's own timestamps place the fragments
});
