// A tile's timeline: the recorded ranges and gaps of one channel on one local day (`GET
// /channels/{id}/recordings`, re-read every 10 s while it shows today), hour ticks, a cursor at the
// playback position (or now, in live view), zoom (24 h / 1 h / 10 min, the wheel pans), a date picker, the
// hover card (timeline-preview.js), and a click on an instant to play from there. A restricted channel's
// timeline is read with the reason stated for it (reason.js), and waits for one when none is known yet.

import { listRecordings } from './api.js';
import { clear, h } from './dom.js';
import { isReasonRequired, onReasonRemembered, rememberedReason } from './reason.js';
import {
  ZOOMS, clockOf, dateValueOf, dayOf, fractionOf, intervalsOf, isRecorded, placed, playableFrom, stampOf, ticksOf,
  timeAt, windowOf,
} from './timeline-model.js';
import { ThumbnailPreview } from './timeline-preview.js';

const REFRESH_MS = 10_000; // today's timeline grows while the channel records
const PAN_FRACTION = 0.1; // one wheel step moves the window this much of its span

const percent = (fraction) => `${(fraction * 100).toFixed(3)}%`;

export class TimelineBar {
  /** `onPick(ms)`: the viewer clicked an instant to play from. `extras`: nodes for the end of the controls row. */
  constructor({ onPick }, extras = []) {
    this.onPick = onPick;
    this.channelId = null;
    this.day = dayOf(dateValueOf(Date.now()));
    this.zoom = ZOOMS[0];
    this.centre = Date.now();
    this.follow = true; // re-centre on the cursor when it leaves the window (until the viewer pans)
    this.cursor = null; // {ms, live}
    this.intervals = { ranges: [], gaps: [] };
    this.request = null;
    this.refreshTimer = null;
    this.preview = new ThumbnailPreview();
    this.stopAwaitingReason = null; // while the platform wants a stated reason (the tile's live view asks for it)

    this.dateInput = h('input', {
      class: 'input timeline__date', type: 'date', 'aria-label': 'Day shown on the timeline', title: 'Day',
      onchange: () => this.#dateChanged(),
    });
    this.zoomButtons = ZOOMS.map((zoom) => h('button', {
      class: 'button button--ghost timeline__zoom-button', type: 'button', text: zoom.label, dataset: { zoom: zoom.key },
      'aria-pressed': String(zoom === this.zoom), title: `Show ${zoom.label}`, onclick: () => this.#setZoom(zoom),
    }));
    this.ticks = h('div', { class: 'timeline__ticks', 'aria-hidden': 'true' });
    this.spans = h('div', { class: 'timeline__spans' });
    this.cursorMark = h('div', { class: 'timeline__cursor', hidden: true, 'aria-hidden': 'true' });
    this.hoverLine = h('div', { class: 'timeline__hover', hidden: true, 'aria-hidden': 'true' });
    this.status = h('div', { class: 'timeline__status', role: 'status' });
    this.track = h('div', {
      class: 'timeline__track', 'aria-label': 'Recordings: click to play from an instant',
      onpointermove: (e) => this.#hover(e), onpointerleave: () => this.#unhover(), onclick: (e) => this.#click(e),
      onwheel: (e) => this.#pan(e),
    }, this.ticks, this.spans, this.status, this.hoverLine, this.cursorMark, this.preview.element);
    this.element = h('div', {
      class: 'timeline', role: 'group', 'aria-label': 'Timeline', hidden: true,
      ondblclick: (e) => e.stopPropagation(), // a double-click here is not the tile's maximise
    },
    h('div', { class: 'timeline__controls' }, this.dateInput,
      h('div', { class: 'timeline__zoom', role: 'group', 'aria-label': 'Zoom' }, this.zoomButtons), ...extras),
    this.track);
    this.#showDay();
  }

  /** Show `channelId`'s recordings of today (null: nothing, hidden). */
  setChannel(channelId) {
    this.#cancel();
    this.channelId = channelId;
    this.preview.setChannel(channelId);
    this.intervals = { ranges: [], gaps: [] };
    this.element.hidden = channelId === null;
    this.day = dayOf(dateValueOf(Date.now()));
    this.centre = Date.now();
    this.follow = true;
    this.#showDay();
    if (channelId !== null) this.#load();
  }

  /** Put the cursor at `ms` (null: none); `live` marks it as now rather than a recorded instant. */
  setCursor(ms, live = false) {
    this.cursor = ms === null ? null : { ms, live };
    const window = this.#window();
    if (this.cursor && this.follow && this.#inDay(ms)) {
      const at = fractionOf(window, ms);
      if (at < 0 || at > 1) {
        this.centre = ms;
        this.#render();
        return;
      }
    }
    this.#placeCursor(window);
  }

  destroy() {
    this.#cancel();
    this.preview.destroy();
  }

  #inDay(ms) {
    return ms >= this.day.start && ms < this.day.end;
  }

  #window() {
    return windowOf(this.day, this.zoom.span, this.centre);
  }

  #showDay() {
    this.dateInput.value = dateValueOf(this.day.start);
    this.dateInput.max = dateValueOf(Date.now());
    this.#render();
  }

  #dateChanged() {
    const day = dayOf(this.dateInput.value);
    if (!day) {
      this.dateInput.value = dateValueOf(this.day.start); // cleared or malformed: keep the day shown
      return;
    }
    this.day = day;
    this.centre = this.cursor && this.#inDay(this.cursor.ms) ? this.cursor.ms : (day.start + day.end) / 2;
    this.follow = true;
    this.intervals = { ranges: [], gaps: [] };
    this.#cancel();
    this.#showDay();
    this.#load();
  }

  #setZoom(zoom) {
    this.zoom = zoom;
    for (const button of this.zoomButtons) button.setAttribute('aria-pressed', String(button.dataset.zoom === zoom.key));
    if (this.cursor && this.#inDay(this.cursor.ms)) this.centre = this.cursor.ms;
    this.follow = true;
    this.#render();
  }

  async #load() {
    this.#cancel();
    const request = new AbortController();
    this.request = request;
    const { channelId, day } = this;
    try {
      const timeline = await listRecordings(channelId, day.start, day.end,
        { signal: request.signal, reason: rememberedReason(channelId) });
      if (this.request !== request) return;
      this.intervals = intervalsOf(timeline, Math.min(Date.now(), day.end));
      this.status.textContent = this.intervals.ranges.length ? '' : 'Nothing recorded on this day';
      this.track.dataset.loaded = dateValueOf(day.start);
    } catch (error) {
      if (error.name === 'AbortError' || this.request !== request) return;
      if (isReasonRequired(error)) {
        // Read again as soon as a reason for this channel is accepted (by its live view, here or in another tile).
        this.stopAwaitingReason = onReasonRemembered((id) => { if (id === channelId) this.#load(); });
        this.status.textContent = 'Recordings are shown once a reason is given';
      } else {
        this.status.textContent = `Recordings: ${error.detail || error.message}`;
      }
    } finally {
      if (this.request === request) this.request = null;
    }
    this.#render();
    if (Date.now() < day.end && !this.stopAwaitingReason) this.refreshTimer = setTimeout(() => this.#load(), REFRESH_MS);
  }

  #cancel() {
    this.stopAwaitingReason?.();
    this.stopAwaitingReason = null;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.request?.abort();
    this.request = null;
  }

  #render() {
    const window = this.#window();
    const positioned = (node, left, width = null) => {
      node.style.left = percent(left);
      if (width !== null) node.style.width = percent(width);
      return node;
    };
    clear(this.ticks).append(...ticksOf(window).map((tick) => positioned(h('div', {
      class: `timeline__tick${tick.hour ? ' timeline__tick--hour' : ''}`, dataset: { at: clockOf(tick.at) },
    }, tick.label ? h('span', { class: 'timeline__tick-label', text: tick.label }) : null), tick.fraction)));
    const spanNode = (kind, { left, width, item }) => {
      const title = kind === 'gap'
        ? `Gap ${clockOf(item.start, true)}–${clockOf(item.end, true)}${item.reason ? `: ${item.reason}` : ''}`
        : `Recorded ${clockOf(item.start, true)}–${clockOf(item.end, true)}`;
      return h('div', { class: `timeline__${kind}`, title, dataset: { start: new Date(item.start).toISOString() } });
    };
    clear(this.spans).append(
      ...placed(window, this.intervals.ranges).map((span) => positioned(spanNode('range', span), span.left, span.width)),
      ...placed(window, this.intervals.gaps).map((span) => positioned(spanNode('gap', span), span.left, span.width)));
    this.#placeCursor(window);
  }

  #placeCursor(window) {
    const at = this.cursor ? fractionOf(window, this.cursor.ms) : -1;
    this.cursorMark.hidden = !(at >= 0 && at <= 1);
    if (this.cursorMark.hidden) return;
    this.cursorMark.style.left = percent(at);
    this.cursorMark.classList.toggle('is-live', this.cursor.live);
    this.cursorMark.title = this.cursor.live ? 'Now' : stampOf(this.cursor.ms);
  }

  #instantAt(event) {
    const box = this.track.getBoundingClientRect();
    const fraction = (event.clientX - box.left) / box.width;
    return { fraction, ms: timeAt(this.#window(), fraction) };
  }

  #hover(event) {
    const { fraction, ms } = this.#instantAt(event);
    this.hoverLine.hidden = false;
    this.hoverLine.style.left = percent(Math.min(1, Math.max(0, fraction)));
    this.preview.show(ms, Math.min(1, Math.max(0, fraction)), isRecorded(this.intervals.ranges, ms));
  }

  #unhover() {
    this.hoverLine.hidden = true;
    this.preview.hide();
  }

  #click(event) {
    if (this.channelId === null) return;
    const { ms } = this.#instantAt(event);
    const from = playableFrom(this.intervals.ranges, ms, this.day.end);
    if (from === null) return; // after the day's last recording: nothing to play
    this.centre = from;
    this.follow = true;
    this.onPick(from);
  }

  #pan(event) {
    if (this.zoom.span >= this.day.end - this.day.start) return; // the whole day shows: nothing to pan
    event.preventDefault();
    const window = this.#window();
    const step = Math.sign(event.deltaY || event.deltaX) * PAN_FRACTION * this.zoom.span;
    this.centre = (window.start + window.end) / 2 + step;
    this.follow = false;
    this.#render();
  }
}
