// Keeps an eye on the caller's share requests while the console is open: how many incoming ones wait for a
// decision (the top bar's count), and notices when one arrives or an outgoing one is decided, revoked or
// expires — so a requester whose view just ended learns that the share was revoked.

import { listDepartments, listShares } from './share-api.js';
import { shareChanges } from './share-model.js';

export const WATCH_INTERVAL_MS = 10_000; // as often as the channel tree re-reads the catalog
const UNAVAILABLE = [403, 404, 503]; // not a party to sharing, or a platform without access control

export class ShareWatch {
  /** `onUpdate({pending, notices})` after each reading; `onUnavailable(error)` once, when sharing is off. */
  constructor({ onUpdate, onUnavailable, intervalMs = WATCH_INTERVAL_MS }) {
    this.onUpdate = onUpdate;
    this.onUnavailable = onUnavailable;
    this.intervalMs = intervalMs;
    this.known = null; // id → share after the first reading; null before it
    this.departments = new Map();
    this.timer = null;
    this.abort = null;
    this.running = false;
  }

  start() {
    this.running = true;
    this.refresh();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  /** Read now (and restart the interval). */
  async refresh() {
    clearTimeout(this.timer);
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const { signal } = abort;
    try {
      const [outgoing, incoming] = await Promise.all([listShares('outgoing', { signal }), listShares('incoming', { signal })]);
      // Incoming last: an administrator reads every request under both, and decides them as the owner.
      const current = new Map([...outgoing, ...incoming].map((s) => [s.id, s]));
      const unknownDepartment = [...current.values()].some((s) => !this.departments.has(s.requester_department_id)
        || !this.departments.has(s.owner_department_id));
      if (unknownDepartment) this.departments = new Map((await listDepartments({ signal })).map((d) => [d.id, d.name]));
      if (!this.running || this.abort !== abort) return;
      const name = (id) => this.departments.get(id) ?? `department ${id}`;
      const notices = this.known === null ? [] : shareChanges(this.known, current, name);
      this.known = current;
      this.onUpdate({ pending: incoming.filter((s) => s.state === 'pending').length, notices });
    } catch (error) {
      if (error.name === 'AbortError' || !this.running) return;
      if (UNAVAILABLE.includes(error.status)) {
        this.running = false;
        this.onUnavailable(error);
        return;
      }
      // A passing failure (network, 5xx): try again at the next interval.
    }
    if (this.running && this.abort === abort) this.timer = setTimeout(() => this.refresh(), this.intervalMs);
  }
}
