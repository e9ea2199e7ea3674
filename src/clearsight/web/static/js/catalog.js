// What the tree shows: regions, devices and every channel (all pages), re-read every few seconds so the
// online dots stay true.

import { listChannels, listDevices, listRegions } from './api.js';

export const REFRESH_INTERVAL_MS = 10_000;
export const PAGE_SIZE = 500; // the API's largest page

/**
 * Every item of a listing paged by cursor: `fetchPage(cursor)` (null: the first page) answers {items, next_cursor},
 * read until `next_cursor` is null.
 */
export async function allCursorPages(fetchPage) {
  const items = [];
  let cursor = null;
  do {
    const page = await fetchPage(cursor);
    if (page.items.length === 0) break; // the set shrank while we read it
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== null && cursor !== undefined);
  // A row that moved between pages while we read them would appear twice.
  const seen = new Set();
  return items.filter((item) => !seen.has(item.id) && seen.add(item.id));
}

/** Every device the caller may see, by cursor (deep pages cost what the first does). */
export const allDevices = (options) => allCursorPages((cursor) => listDevices(cursor, PAGE_SIZE, options));

/** Every channel the caller may see, by cursor. */
export const allChannels = (options) => allCursorPages((cursor) => listChannels(cursor, PAGE_SIZE, options));

/** One consistent-enough picture of the catalog. */
export async function loadCatalog(signal) {
  const [regions, devices, channels] = await Promise.all([
    listRegions({ signal }),
    allDevices({ signal }),
    allChannels({ signal }),
  ]);
  return { regions, devices, channels, loadedAt: new Date() };
}

/** Loads the catalog now and every REFRESH_INTERVAL_MS; never two loads at once. */
export class CatalogPoller {
  constructor({ onUpdate, onError, intervalMs = REFRESH_INTERVAL_MS }) {
    this.onUpdate = onUpdate;
    this.onError = onError;
    this.intervalMs = intervalMs;
    this.timer = null;
    this.abort = null;
    this.running = false;
  }

  start() {
    this.running = true;
    this.#load();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  async #load() {
    this.abort = new AbortController();
    try {
      const catalog = await loadCatalog(this.abort.signal);
      if (this.running) this.onUpdate(catalog);
    } catch (error) {
      if (this.running && error.name !== 'AbortError') this.onError(error);
    }
    if (this.running) this.timer = setTimeout(() => this.#load(), this.intervalMs);
  }
}
