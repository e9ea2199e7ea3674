// The timeline's hover card: the time under the pointer and, over a recorded instant, the thumbnail nearest
// it (`GET /channels/{id}/thumbnails?at=`, fetched with the bearer token, shown from a blob: URL). Thumbnails
// are asked for once the pointer rests a moment, and kept per few seconds of timeline, a bounded number.

import { fetchThumbnail } from './api.js';
import { h } from './dom.js';
import { rememberedReason } from './reason.js';
import { clockOf, dateValueOf } from './timeline-model.js';

const REST_MS = 120; // the pointer rests this long before a thumbnail is fetched
const BUCKET_MS = 5_000; // instants this close share a thumbnail (the platform keeps one every ~10 s)
const CACHED = 60; // thumbnails kept (blob: URLs) per timeline
const EDGE_FRACTION = 0.2; // nearer the bar's ends than this, the card is aligned to the pointer's side

export class ThumbnailPreview {
  constructor() {
    this.channelId = null;
    this.cache = new Map(); // bucket → {url, at} or null (none near it); insertion order is age
    this.timer = null;
    this.request = null;
    this.shownBucket = null;
    this.image = h('img', { class: 'timeline__thumb', alt: '', hidden: true });
    this.time = h('div', { class: 'timeline__preview-time' });
    this.element = h('div', { class: 'timeline__preview', hidden: true, 'aria-hidden': 'true' }, this.image, this.time);
  }

  /** Thumbnails of `channelId` from now on (those of another channel are dropped). */
  setChannel(channelId) {
    if (channelId === this.channelId) return;
    this.hide();
    this.#dropCache();
    this.channelId = channelId;
  }

  /** Show the card at `left` (fraction of the bar) for `ms`; with a thumbnail when `recorded`. */
  show(ms, left, recorded) {
    this.element.hidden = false;
    this.element.style.left = `${(left * 100).toFixed(3)}%`;
    this.element.classList.toggle('is-start', left < EDGE_FRACTION); // kept inside the tile at the bar's ends
    this.element.classList.toggle('is-end', left > 1 - EDGE_FRACTION);
    this.time.textContent = `${clockOf(ms, true)}${dateValueOf(ms) === dateValueOf(Date.now()) ? '' : ` · ${dateValueOf(ms)}`}`;
    const bucket = Math.round(ms / BUCKET_MS);
    clearTimeout(this.timer);
    if (!recorded || this.channelId === null) {
      this.#showThumb(null, null);
      return;
    }
    if (this.cache.has(bucket)) {
      this.#showThumb(bucket, this.cache.get(bucket));
      return;
    }
    if (this.shownBucket !== bucket) this.#showThumb(null, null);
    this.timer = setTimeout(() => this.#fetch(bucket), REST_MS);
  }

  hide() {
    clearTimeout(this.timer);
    this.request?.abort();
    this.request = null;
    this.element.hidden = true;
  }

  destroy() {
    this.hide();
    this.#dropCache();
  }

  async #fetch(bucket) {
    this.request?.abort();
    const request = new AbortController();
    this.request = request;
    const channelId = this.channelId;
    let entry = null;
    try {
      const { blob, at } = await fetchThumbnail(channelId, bucket * BUCKET_MS,
        { signal: request.signal, reason: rememberedReason(channelId) });
      entry = { url: URL.createObjectURL(blob), at };
    } catch (error) {
      if (error.name === 'AbortError' || error.status !== 404) return; // 404: none near; other errors: ask again later
    } finally {
      if (this.request === request) this.request = null;
    }
    if (channelId !== this.channelId) {
      if (entry) URL.revokeObjectURL(entry.url);
      return;
    }
    this.#remember(bucket, entry);
    if (!this.element.hidden) this.#showThumb(bucket, entry);
  }

  #showThumb(bucket, entry) {
    this.shownBucket = entry ? bucket : null;
    this.image.hidden = !entry;
    if (entry) {
      this.image.src = entry.url;
      this.image.alt = `Recorded picture at ${clockOf(entry.at, true)}`;
    } else {
      this.image.removeAttribute('src');
    }
    this.element.classList.toggle('has-thumb', Boolean(entry));
  }

  #remember(bucket, entry) {
    this.cache.set(bucket, entry);
    while (this.cache.size > CACHED) {
      const [oldest, old] = this.cache.entries().next().value;
      this.cache.delete(oldest);
      if (old) URL.revokeObjectURL(old.url); // a picture already shown stays shown
    }
  }

  #dropCache() {
    for (const entry of this.cache.values()) if (entry) URL.revokeObjectURL(entry.url);
    this.cache.clear();
    this.shownBucket = null;
    this.image.removeAttribute('src');
  }
}
