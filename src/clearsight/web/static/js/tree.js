// The channel pane: search box, region → device → channel tree with online dots and counts, status line.
// A channel row plays on click (or Enter) and can be dragged onto a tile.

import { clear, h } from './dom.js';
import { icon } from './icons.js';
import {
  branchKeys, buildTree, channelLabel, channelOnline, deviceLabel, filterTree, treeShape,
} from './tree-model.js';

export const CHANNEL_DRAG_TYPE = 'application/x-clearsight-channel';
const SEARCH_DEBOUNCE_MS = 120;
const EXPAND_ALL_UP_TO_CHANNELS = 64; // a small catalog opens fully the first time, a larger one to its devices
const PTZ_TYPE_FIXED = 3; // GB/T 28181 PTZType: 1 dome, 2 semi-dome, 3 fixed, 4 remote control

function countLabel(node) {
  return h('span', { class: 'tree__count', title: `${node.online} online of ${node.total}` },
    h('span', { class: 'tree__count-online', text: node.online }), `/${node.total}`);
}

function highlighted(text, needle) {
  if (!needle) return text;
  const at = text.toLowerCase().indexOf(needle);
  if (at < 0) return text;
  return [text.slice(0, at), h('mark', { class: 'tree__match', text: text.slice(at, at + needle.length) }),
    text.slice(at + needle.length)];
}

/**
 * Keys of the branches holding any of `channelIds`: their regions, and their devices too when `withDevices`.
 * Opened when channels arrive after the first reading (a share approved), so they are in sight at once.
 */
export function branchesHolding(tree, channelIds, withDevices) {
  const keys = [];
  const walk = (node) => {
    if (node.kind === 'device') {
      const holds = node.channels.some((c) => channelIds.has(c.id));
      if (holds && withDevices) keys.push(node.key);
      return holds;
    }
    let holds = false;
    for (const child of [...node.regions, ...node.devices]) holds = walk(child) || holds;
    if (holds) keys.push(node.key);
    return holds;
  };
  tree.forEach(walk);
  return keys;
}

export class ChannelTree {
  constructor(root, { onActivate }) {
    this.onActivate = onActivate;
    this.tree = [];
    this.shown = [];
    this.shape = null;
    this.expanded = new Set();
    this.initialised = false;
    this.knownChannelIds = new Set(); // of the last reading: the others are new
    this.query = '';
    this.rows = new Map(); // node key → {row, node} of drawn region and device rows
    this.channelRows = new Map(); // channel id → drawn row
    this.channels = new Map(); // channel id → {channel, device}
    this.playing = new Set();
    this.selectedChannelId = null;
    this.searchTimer = null;

    this.totalLabel = h('span', { class: 'mono', text: '' });
    this.searchInput = h('input', {
      class: 'input', type: 'search', placeholder: 'Search channels, devices, regions', 'aria-label': 'Search channels',
      autocomplete: 'off', spellcheck: 'false', oninput: () => this.#searchSoon(), onkeydown: (e) => {
        if (e.key === 'Escape') this.#setQuery('');
      },
    });
    this.clearButton = h('button', {
      class: 'button button--ghost button--icon search__clear', type: 'button', title: 'Clear search', hidden: true,
      onclick: () => this.#setQuery(''),
    }, icon('close'));
    this.list = h('div', {
      class: 'tree', role: 'tree', 'aria-label': 'Regions, devices and channels',
      onclick: (e) => this.#onClick(e), onkeydown: (e) => this.#onKey(e), ondragstart: (e) => this.#onDragStart(e),
    }, h('div', { class: 'tree__empty', text: 'Loading channels…' }));
    this.summary = h('span', { text: '' });
    this.updated = h('span', { class: 'muted', text: '' });
    this.error = h('div', { class: 'catalog-status__error', hidden: true });
    clear(root).append(
      h('div', { class: 'pane__header' },
        h('div', { class: 'pane__title' }, h('span', { text: 'Channels' }), this.totalLabel),
        h('div', { class: 'search' }, icon('search'), this.searchInput, this.clearButton)),
      this.list,
      h('div', { class: 'pane__footer' },
        h('div', { class: 'catalog-status' }, this.summary, this.updated), this.error),
    );
  }

  /** A new catalog from CatalogPoller: redraw when its shape changed, else only the online state. */
  update(catalog) {
    this.channels = new Map();
    const devices = new Map(catalog.devices.map((d) => [d.id, d]));
    for (const channel of catalog.channels) {
      this.channels.set(channel.id, { channel, device: devices.get(channel.device_id) ?? null });
    }
    this.tree = buildTree(catalog);
    if (!this.initialised) {
      this.initialised = true;
      // Regions open; devices too while the catalog is small.
      const everything = catalog.channels.length <= EXPAND_ALL_UP_TO_CHANNELS;
      for (const key of branchKeys(this.tree)) {
        if (everything || key.startsWith('region:')) this.expanded.add(key);
      }
    } else {
      // Channels visible since the last reading open their path (a large batch: its regions only).
      const arrived = new Set(catalog.channels.map((c) => c.id).filter((id) => !this.knownChannelIds.has(id)));
      if (arrived.size) {
        for (const key of branchesHolding(this.tree, arrived, arrived.size <= EXPAND_ALL_UP_TO_CHANNELS)) this.expanded.add(key);
      }
    }
    this.knownChannelIds = new Set(catalog.channels.map((c) => c.id));
    const online = catalog.channels.filter((c) => channelOnline(c, devices.get(c.device_id))).length;
    this.totalLabel.textContent = String(catalog.channels.length);
    this.summary.textContent = `${catalog.channels.length} channels · ${online} online`;
    this.updated.textContent = `updated ${catalog.loadedAt.toLocaleTimeString([], { hour12: false })}`;
    this.error.hidden = true;
    this.#show();
  }

  /** A failed refresh: keep what is shown, say why. */
  showError(error) {
    this.error.hidden = false;
    this.error.textContent = `Refresh failed: ${error.detail || error.message}`;
  }

  /** Look up a channel by id: {channel, device} or undefined. */
  lookup(channelId) {
    return this.channels.get(Number(channelId));
  }

  /** Mark the channels shown on the wall, and the one in the selected tile. */
  setPlaying(channelIds, selectedChannelId) {
    this.playing = new Set(channelIds);
    this.selectedChannelId = selectedChannelId;
    for (const [id, row] of this.channelRows) this.#markChannel(row, id);
  }

  #searchSoon() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.#setQuery(this.searchInput.value), SEARCH_DEBOUNCE_MS);
  }

  #setQuery(query) {
    clearTimeout(this.searchTimer);
    this.searchInput.value = query;
    this.query = query.trim().toLowerCase();
    this.clearButton.hidden = !this.query;
    this.#show();
  }

  #show() {
    const shown = filterTree(this.tree, this.query);
    const shape = `${this.query}\u0001${treeShape(shown)}`;
    this.shown = shown;
    if (shape === this.shape) {
      this.#refreshState();
      return;
    }
    this.shape = shape;
    this.#render();
  }

  #isOpen(node) {
    return this.query ? true : this.expanded.has(node.key);
  }

  #render() {
    const scrollTop = this.list.scrollTop;
    this.rows.clear();
    this.channelRows.clear();
    clear(this.list);
    if (this.shown.length === 0) {
      const text = this.query ? `No channel matches “${this.searchInput.value.trim()}”.` : 'No devices have registered yet.';
      this.list.append(h('div', { class: 'tree__empty', text }));
      return;
    }
    for (const node of this.shown) this.list.append(...this.#branch(node, 0));
    this.list.scrollTop = scrollTop;
  }

  #branch(node, depth) {
    const open = this.#isOpen(node);
    const row = node.kind === 'region' ? this.#regionRow(node, depth, open) : this.#deviceRow(node, depth, open);
    this.rows.set(node.key, { row, node });
    const children = h('div', { role: 'group', class: 'tree__children', dataset: { parent: node.key } });
    if (open) this.#fill(children, node, depth + 1);
    return [row, children];
  }

  #fill(container, node, depth) {
    if (node.kind === 'region') {
      for (const child of [...node.regions, ...node.devices]) container.append(...this.#branch(child, depth));
    } else {
      for (const channel of node.channels) container.append(this.#channelRow(channel, node.device, depth));
    }
  }

  #regionRow(node, depth, open) {
    const row = h('div', {
      class: 'tree__row tree__row--region', role: 'treeitem', tabindex: '0', 'aria-expanded': String(open),
      dataset: { key: node.key }, title: node.code ? `${node.name} (${node.code})` : node.name,
    }, icon('chevron', 'tree__chevron'), icon('region'),
    h('span', { class: 'tree__name' }, highlighted(node.name, this.query)), countLabel(node));
    row.style.setProperty('--depth', depth);
    return row;
  }

  #deviceRow(node, depth, open) {
    const device = node.device;
    const row = h('div', {
      class: 'tree__row tree__row--device', role: 'treeitem', tabindex: '0', 'aria-expanded': String(open),
      dataset: { key: node.key }, title: `${deviceLabel(device)}\n${device.id}\n${device.online ? 'online' : 'offline'}`,
    }, icon('chevron', 'tree__chevron'), h('span', { class: `dot ${device.online ? 'dot--online' : 'dot--offline'}` }),
    icon('device'), h('span', { class: 'tree__name' }, highlighted(deviceLabel(device), this.query)), countLabel(node));
    row.style.setProperty('--depth', depth);
    return row;
  }

  #channelRow(channel, device, depth) {
    const online = channelOnline(channel, device);
    const row = h('div', {
      class: `tree__row tree__row--channel${online ? '' : ' is-offline'}`, role: 'treeitem', tabindex: '0',
      draggable: 'true', dataset: { channelId: channel.id },
      title: `${channelLabel(channel)}\n${channel.gb_id}\n${online ? 'online' : 'offline'} — click to play, or drag onto a tile`,
    }, h('span', { class: 'tree__chevron-space' }), h('span', { class: `dot ${online ? 'dot--online' : 'dot--offline'}` }),
    icon(channel.ptz_type === PTZ_TYPE_FIXED ? 'camera' : 'dome'),
    h('span', { class: 'tree__name' }, highlighted(channelLabel(channel), this.query)));
    row.style.setProperty('--depth', depth);
    this.channelRows.set(channel.id, row);
    this.#markChannel(row, channel.id);
    return row;
  }

  #markChannel(row, channelId) {
    row.classList.toggle('is-playing', this.playing.has(channelId));
    row.classList.toggle('is-selected', this.selectedChannelId === channelId);
  }

  /** Same shape as drawn: only dots, offline marks and counts change. */
  #refreshState() {
    const walk = (node) => {
      const drawn = this.rows.get(node.key);
      if (drawn) {
        drawn.node = node;
        drawn.row.querySelector('.tree__count')?.replaceWith(countLabel(node));
        if (node.kind === 'device') {
          drawn.row.querySelector('.dot').className = `dot ${node.device.online ? 'dot--online' : 'dot--offline'}`;
        }
      }
      if (node.kind === 'region') {
        [...node.regions, ...node.devices].forEach(walk);
        return;
      }
      for (const channel of node.channels) {
        const row = this.channelRows.get(channel.id);
        if (!row) continue;
        const online = channelOnline(channel, node.device);
        row.classList.toggle('is-offline', !online);
        row.querySelector('.dot').className = `dot ${online ? 'dot--online' : 'dot--offline'}`;
      }
    };
    this.shown.forEach(walk);
  }

  #toggle(key) {
    const drawn = this.rows.get(key);
    if (!drawn || this.query) return;
    const open = !this.expanded.has(key);
    if (open) this.expanded.add(key);
    else this.expanded.delete(key);
    drawn.row.setAttribute('aria-expanded', String(open));
    const children = drawn.row.nextElementSibling;
    clear(children);
    if (open) {
      const depth = Number(drawn.row.style.getPropertyValue('--depth')) + 1;
      this.#fill(children, drawn.node, depth);
    } else {
      this.#forget(drawn.node);
    }
  }

  /** Drop the drawn-row entries below `node` after collapsing it. */
  #forget(node) {
    if (node.kind === 'device') {
      for (const channel of node.channels) this.channelRows.delete(channel.id);
      return;
    }
    for (const child of [...node.regions, ...node.devices]) {
      this.rows.delete(child.key);
      this.#forget(child);
    }
  }

  #activate(row) {
    const entry = this.lookup(row.dataset.channelId);
    if (entry) this.onActivate(entry.channel, entry.device);
  }

  #onClick(event) {
    const row = event.target.closest('.tree__row');
    if (!row) return;
    if (row.dataset.channelId) this.#activate(row);
    else this.#toggle(row.dataset.key);
  }

  #onKey(event) {
    const row = event.target.closest('.tree__row');
    if (!row) return;
    const rows = [...this.list.querySelectorAll('.tree__row')];
    const at = rows.indexOf(row);
    const open = row.getAttribute('aria-expanded') === 'true';
    switch (event.key) {
      case 'ArrowDown': rows[at + 1]?.focus(); break;
      case 'ArrowUp': rows[at - 1]?.focus(); break;
      case 'ArrowRight': if (row.dataset.key && !open) this.#toggle(row.dataset.key); break;
      case 'ArrowLeft': if (row.dataset.key && open) this.#toggle(row.dataset.key); break;
      case 'Enter':
      case ' ':
        if (row.dataset.channelId) this.#activate(row);
        else this.#toggle(row.dataset.key);
        break;
      default: return;
    }
    event.preventDefault();
  }

  #onDragStart(event) {
    const row = event.target.closest?.('.tree__row--channel');
    if (!row) return;
    event.dataTransfer.setData(CHANNEL_DRAG_TYPE, row.dataset.channelId);
    event.dataTransfer.setData('text/plain', row.dataset.channelId);
    event.dataTransfer.effectAllowed = 'copy';
  }
}
