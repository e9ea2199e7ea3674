// The Sharing view (a modal <dialog> opened from the top bar): the department's outgoing requests with
// their state and decision, incoming requests to approve (narrowed if wanted) or reject, and the active
// shares, which the owner may revoke. Everything the platform refuses is shown with its reason.

import { allChannels } from './catalog.js';
import { clear, h } from './dom.js';
import { icon } from './icons.js';
import { askForShare } from './share-ask.js';
import { listDepartments, listShares, readMe } from './share-api.js';
import { approve, reject, revoke } from './share-decide.js';
import {
  actionLabel, decisionText, formatMoment, formatPeriod, grantedScope, isActive, problemText, revocationText, stateLabel,
  viewerNote,
} from './share-model.js';
import { channelLabel } from './tree-model.js';

const TABS = [
  ['outgoing', 'Outgoing'],
  ['incoming', 'Incoming'],
  ['active', 'Active shares'],
];

export class SharingView {
  /** `onChanged()`: a request was made or decided here (the top bar's count may have changed). */
  constructor(dialog, { isAdministrator, onChanged }) {
    this.dialog = dialog;
    this.isAdministrator = isAdministrator;
    this.onChanged = onChanged;
    this.departments = new Map();
    this.channels = new Map();
    this.found = new Map(); // channel id → name, of channels picked from the share search
    this.me = null;
    this.outgoing = [];
    this.incoming = [];
    this.tab = 'outgoing';
    this.loading = null;

    this.status = h('div', { class: 'share-view__status', role: 'status' });
    this.error = h('div', { class: 'notice notice--error', role: 'alert', hidden: true });
    this.note = h('p', { class: 'muted share-view__note', hidden: true }); // whose requests are listed
    this.tabButtons = new Map();
    this.panels = new Map();
    const tablist = h('div', { class: 'share-tabs', role: 'tablist', 'aria-label': 'Share requests',
      onkeydown: (e) => this.#onTabKey(e) });
    for (const [name, label] of TABS) {
      const button = h('button', {
        class: 'share-tabs__tab', type: 'button', role: 'tab', id: `share-tab-${name}`, 'aria-controls': `share-panel-${name}`,
        dataset: { tab: name }, onclick: () => this.#select(name),
      }, h('span', { text: label }), h('span', { class: 'share-tabs__count', hidden: true }));
      this.tabButtons.set(name, button);
      tablist.append(button);
      this.panels.set(name, h('section', { class: 'share-panel', role: 'tabpanel', id: `share-panel-${name}`,
        'aria-labelledby': `share-tab-${name}`, tabindex: '0' }));
    }
    clear(dialog).append(
      h('div', { class: 'dialog__header' },
        h('h2', { class: 'dialog__title', id: 'sharing-title', text: 'Sharing' }),
        h('button', { class: 'button button--primary', type: 'button', text: 'New request', onclick: () => this.#ask() }),
        h('button', { class: 'button button--ghost button--icon', type: 'button', title: 'Refresh', 'aria-label': 'Refresh',
          onclick: () => this.reload() }, icon('refresh')),
        h('button', { class: 'button button--ghost button--icon', type: 'button', title: 'Close', 'aria-label': 'Close',
          onclick: () => dialog.close() }, icon('close'))),
      h('div', { class: 'share-view__body' },
        this.note, this.error, tablist, ...this.panels.values(), this.status));
    this.#select('outgoing');
  }

  get isOpen() {
    return this.dialog.open;
  }

  async open() {
    if (!this.dialog.open) this.dialog.showModal();
    await this.reload();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /** Read departments, visible channels and both lists again, then redraw. */
  async reload() {
    this.status.textContent = 'Loading…';
    const loading = Promise.all([
      readMe(),
      listDepartments(),
      allChannels(),
      listShares('outgoing'),
      listShares('incoming'),
    ]);
    this.loading = loading;
    try {
      const [me, departments, channels, outgoing, incoming] = await loading;
      if (this.loading !== loading) return;
      this.me = me;
      const note = viewerNote(me);
      this.note.hidden = !note;
      this.note.textContent = note ?? '';
      this.departments = new Map(departments.map((d) => [d.id, d.name]));
      this.channels = new Map(channels.map((c) => [c.id, channelLabel(c)]));
      this.outgoing = outgoing;
      this.incoming = incoming;
      this.error.hidden = true;
      this.status.textContent = `Updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
      this.#draw();
    } catch (error) {
      if (this.loading !== loading || error.status === 401) return;
      this.error.hidden = false;
      this.error.textContent = `The share requests could not be read: ${problemText(error)}`;
      this.status.textContent = '';
    }
  }

  get names() {
    return {
      department: (id) => this.departments.get(id) ?? `department ${id}`,
      channel: (id) => this.channels.get(id) ?? this.found.get(id) ?? `channel #${id}`,
    };
  }

  async #ask() {
    const created = await askForShare({
      departments: [...this.departments].map(([id, name]) => ({ id, name })),
      isAdministrator: this.isAdministrator, ownDepartment: this.me?.department ?? null, channelName: this.names.channel,
      onNamed: (id, name) => this.found.set(id, name),
    });
    if (created) await this.#changed('outgoing');
  }

  async #decide(decision, share) {
    const decided = await decision(share, this.names);
    if (decided) await this.#changed(this.tab);
  }

  async #changed(tab) {
    this.#select(tab);
    await this.reload();
    this.onChanged();
  }

  #draw() {
    const pending = this.incoming.filter((s) => s.state === 'pending');
    this.#count('incoming', pending.length);
    this.#fill('outgoing', this.outgoing, 'Your department has asked for no shares yet.', (s) => this.#card(s, 'outgoing'));
    const decided = this.incoming.filter((s) => s.state !== 'pending');
    this.#fill('incoming', [...pending, ...decided], 'No department has asked yours for access.', (s) => this.#card(s, 'incoming'));
    // An administrator reads every request under both directions: show each active share once, as the owner's.
    const active = new Map();
    for (const share of [...this.incoming, ...this.outgoing]) {
      if (isActive(share) && !active.has(share.id)) active.set(share.id, share);
    }
    this.#count('active', active.size);
    this.#fill('active', [...active.values()], 'No share is active.', (s) => this.#card(s, s.direction, true));
  }

  #count(tab, n) {
    const badge = this.tabButtons.get(tab).querySelector('.share-tabs__count');
    badge.hidden = n === 0;
    badge.textContent = String(n);
  }

  #fill(tab, shares, emptyText, card) {
    const panel = this.panels.get(tab);
    if (shares.length === 0) {
      clear(panel).append(h('p', { class: 'share-empty muted', text: emptyText }));
      return;
    }
    clear(panel).append(h('ul', { class: 'share-list' }, ...shares.map(card)));
  }

  #card(share, direction, activeList = false) {
    const names = this.names;
    const other = direction === 'incoming'
      ? `from ${names.department(share.requester_department_id)}` : `to ${names.department(share.owner_department_id)}`;
    const scope = grantedScope(share);
    const buttons = [];
    if (direction === 'incoming' && share.state === 'pending') {
      buttons.push(h('button', { class: 'button button--primary', type: 'button', text: 'Approve…',
        onclick: () => this.#decide(approve, share) }));
      buttons.push(h('button', { class: 'button', type: 'button', text: 'Reject…', onclick: () => this.#decide(reject, share) }));
    }
    if (activeList && direction === 'incoming') {
      buttons.push(h('button', { class: 'button button--danger', type: 'button', text: 'Revoke…',
        onclick: () => this.#decide(revoke, share) }));
    }
    const facts = [
      ['Channels', scope.channelIds.map(names.channel).join(', '), 'share-card__channels'],
      ['Actions', scope.actions.map(actionLabel).join(', '), 'share-card__actions'],
      ['Period', formatPeriod(scope.start, scope.end), 'share-card__period'],
      ['Purpose', share.purpose, 'share-card__purpose'],
      ['Asked by', `${share.requested_by} on ${formatMoment(share.created_at)}`, ''],
      ['Decision', decisionText(share), 'share-card__decision'],
      ['Revoked', revocationText(share), 'share-card__revoked'],
      ['Narrowed from', scope.narrowed ? `${share.channel_ids.map(names.channel).join(', ')} · `
        + `${share.actions.map(actionLabel).join(', ')} · ${formatPeriod(share.period_start, share.period_end)}` : null, 'muted'],
    ].filter(([, value]) => value);
    return h('li', { class: 'share-card', dataset: { shareId: share.id, state: share.state, direction } },
      h('div', { class: 'share-card__head' },
        h('h3', { class: 'share-card__title', text: `#${share.id} ${other}` }),
        h('span', { class: `share-state share-state--${share.state}`, text: stateLabel(share.state) })),
      h('dl', { class: 'share-card__facts' },
        ...facts.flatMap(([label, value, cls]) => [h('dt', { text: label }), h('dd', { class: cls, text: value })])),
      buttons.length ? h('div', { class: 'share-card__buttons' }, buttons) : null);
  }

  #select(name) {
    this.tab = name;
    for (const [tab, button] of this.tabButtons) {
      const selected = tab === name;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      this.panels.get(tab).hidden = !selected;
    }
  }

  #onTabKey(event) {
    const names = TABS.map(([name]) => name);
    const at = names.indexOf(this.tab);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: names.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const name = names[(next + names.length) % names.length];
    this.#select(name);
    this.tabButtons.get(name).focus();
  }
}
