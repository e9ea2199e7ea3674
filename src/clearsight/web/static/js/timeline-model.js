// The timeline's arithmetic: a local calendar day, the window of it shown at a zoom, where an instant falls in
// that window, the ticks to draw, and which instants are recorded. Pure; times are epoch milliseconds, days
// and clock labels are in the browser's local time (the API speaks UTC ISO 8601).

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The zoom levels: how much of the day the bar shows. */
export const ZOOMS = Object.freeze([
  { key: '24h', label: '24 h', span: DAY_MS },
  { key: '1h', label: '1 h', span: HOUR_MS },
  { key: '10m', label: '10 min', span: 10 * MINUTE_MS },
]);

// Per span: the tick spacing, and how often a tick is labelled (both in ms; labels fall on hours where they can).
const TICK_PLANS = [
  { upTo: 10 * MINUTE_MS, step: MINUTE_MS, labelEvery: 2 * MINUTE_MS },
  { upTo: HOUR_MS, step: 5 * MINUTE_MS, labelEvery: 15 * MINUTE_MS },
  { upTo: Infinity, step: HOUR_MS, labelEvery: 3 * HOUR_MS },
];

const pad = (n) => String(n).padStart(2, '0');

/** 'YYYY-MM-DD' of the local day holding `ms` (the value of an <input type=date>). */
export function dateValueOf(ms) {
  const date = new Date(ms);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The local day named by 'YYYY-MM-DD' as {start, end} (end: the next local midnight), or null if malformed. */
export function dayOf(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value ?? '');
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const start = new Date(year, month - 1, day).getTime();
  if (dateValueOf(start) !== value) return null; // 2026-02-31 and the like
  return { start, end: new Date(year, month - 1, day + 1).getTime() };
}

/** The part of `day` shown at `span` ms: centred on `centre` where it fits, else against the day's edge. */
export function windowOf(day, span, centre) {
  if (span >= day.end - day.start) return { start: day.start, end: day.end };
  const start = Math.min(Math.max(centre - span / 2, day.start), day.end - span);
  return { start, end: start + span };
}

/** Where `ms` falls in `window`, 0 (its start) to 1 (its end); outside gives <0 or >1. */
export function fractionOf(window, ms) {
  return (ms - window.start) / (window.end - window.start);
}

/** The instant at `fraction` (clamped to 0..1) of `window`. */
export function timeAt(window, fraction) {
  return window.start + Math.min(1, Math.max(0, fraction)) * (window.end - window.start);
}

/** Ticks across `window`: [{at, fraction, hour (on a local full hour), label (HH:MM) or null}]. */
export function ticksOf(window) {
  const span = window.end - window.start;
  const plan = TICK_PLANS.find((p) => span <= p.upTo);
  // Local clock alignment: the offset from UTC (whole minutes nearly everywhere) moves the grid.
  const offset = (ms) => -new Date(ms).getTimezoneOffset() * MINUTE_MS;
  const first = Math.ceil((window.start + offset(window.start)) / plan.step) * plan.step - offset(window.start);
  const ticks = [];
  for (let at = first; at <= window.end; at += plan.step) {
    const local = at + offset(at);
    ticks.push({
      at, fraction: fractionOf(window, at), hour: local % HOUR_MS === 0,
      label: local % plan.labelEvery === 0 ? clockOf(at) : null,
    });
  }
  return ticks;
}

/** 'HH:MM', or 'HH:MM:SS' with `seconds`, in local time. */
export function clockOf(ms, seconds = false) {
  const date = new Date(ms);
  const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return seconds ? `${hm}:${pad(date.getSeconds())}` : hm;
}

/** 'YYYY-MM-DD HH:MM:SS' in local time. */
export function stampOf(ms) {
  return `${dateValueOf(ms)} ${clockOf(ms, true)}`;
}

/**
 * A timeline answer (`GET /channels/{id}/recordings`) as intervals in ms: {ranges, gaps}; a gap still open
 * (`end` null) lasts until `now`.
 */
export function intervalsOf(timeline, now) {
  const interval = (item) => ({ start: Date.parse(item.start), end: item.end === null ? now : Date.parse(item.end) });
  return {
    ranges: (timeline.ranges ?? []).map(interval),
    gaps: (timeline.gaps ?? []).map((gap) => ({ ...interval(gap), reason: gap.reason ?? '' })),
  };
}

/** `intervals` placed in `window` as [{left, width, item}] fractions, clipped; those outside are left out. */
export function placed(window, intervals) {
  const spans = [];
  for (const item of intervals) {
    const left = Math.max(0, fractionOf(window, item.start));
    const right = Math.min(1, fractionOf(window, item.end));
    if (right > left) spans.push({ left, width: right - left, item });
  }
  return spans;
}

/** Whether `ms` lies in one of `ranges` (start inclusive, end exclusive). */
export function isRecorded(ranges, ms) {
  return ranges.some((r) => ms >= r.start && ms < r.end);
}

/** Where playback asked for at `ms` begins: `ms` when recorded, else the next range's start before `until`, else null. */
export function playableFrom(ranges, ms, until = Infinity) {
  if (isRecorded(ranges, ms)) return ms;
  const next = ranges.filter((r) => r.start > ms && r.start < until).sort((a, b) => a.start - b.start)[0];
  return next ? next.start : null;
}
