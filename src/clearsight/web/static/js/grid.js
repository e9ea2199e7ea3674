// The video wall: 1, 4, 9 or 16 tiles, one of them selected (it takes the next channel and the PTZ pad),
// one of them maximised if wanted; the wall's layout and channels survive a page reload in this tab.

import { clear, h } from './dom.js';
import { gridIcon } from './icons.js';
import { VideoTile } from './tile.js';

export const LAYOUTS = [1, 4, 9, 16];
const DEFAULT_LAYOUT = 4;
const WALL_KEY = 'clearsight.wall'; // sessionStorage: {layout, channels: [channel id or null per tile]}

export class VideoWall {
  /**
   * `lookup(channelId)` → {channel, device} from the catalog; `onSelectionChange(tile)`;
   * `onSnapshot(tile)`; `onTilesChange(tiles)` whenever what plays where changes.
   */
  constructor(root, { lookup, onSelectionChange, onSnapshot, onTilesChange, dragType }) {
    this.lookup = lookup;
    this.onSelectionChange = onSelectionChange;
    this.onSnapshot = onSnapshot;
    this.onTilesChange = onTilesChange;
    this.dragType = dragType;
    this.tiles = [];
    this.selected = null;
    this.maximised = null;
    this.layout = 0;
    this.layoutButtons = new Map();
    this.grid = h('div', { class: 'grid', role: 'region', 'aria-label': 'Video wall' });
    clear(root).append(this.grid);
    this.keyListener = (e) => { if (e.key === 'Escape' && this.maximised && !document.querySelector('dialog[open]')) this.#maximise(null); };
    document.addEventListener('keydown', this.keyListener);
    this.saved = readSaved();
    this.setLayout(this.saved?.layout ?? DEFAULT_LAYOUT);
  }

  /** The 1/4/9/16 buttons for the top bar. */
  layoutSwitch() {
    const group = h('div', { class: 'layout-switch', role: 'group', 'aria-label': 'Layout' });
    for (const cells of LAYOUTS) {
      const button = h('button', {
        class: 'button layout-switch__button', type: 'button', title: `${cells} ${cells === 1 ? 'tile' : 'tiles'}`,
        'aria-pressed': String(cells === this.layout), dataset: { layout: cells },
        onclick: () => this.setLayout(cells),
      }, gridIcon(cells), String(cells));
      this.layoutButtons.set(cells, button);
      group.append(button);
    }
    return group;
  }

  setLayout(cells) {
    if (!LAYOUTS.includes(cells) || cells === this.layout) return;
    this.#maximise(null);
    while (this.tiles.length > cells) this.tiles.pop().close();
    while (this.tiles.length < cells) {
      const tile = new VideoTile(this.tiles.length, {
        onSelect: (t) => this.select(t),
        onClose: (t) => { t.close(); this.select(t); },
        onSnapshot: (t) => { this.select(t); if (t.playing) this.onSnapshot(t); },
        onMaximize: (t) => this.#maximise(this.maximised === t ? null : t),
        onDrop: (t, channelId) => this.#playId(t, channelId),
        onChange: () => this.#changed(),
      }, this.dragType);
      this.tiles.push(tile);
    }
    this.layout = cells;
    this.grid.className = `grid grid--${cells}`;
    clear(this.grid).append(...this.tiles.map((t) => t.element));
    for (const [n, button] of this.layoutButtons) button.setAttribute('aria-pressed', String(n === cells));
    if (!this.selected || !this.tiles.includes(this.selected)) this.select(this.tiles[0]);
    this.#changed();
  }

  select(tile) {
    if (this.selected === tile) {
      this.onSelectionChange(tile);
      return;
    }
    this.selected?.setSelected(false);
    this.selected = tile;
    tile.setSelected(true);
    this.onSelectionChange(tile);
  }

  /** Play `channel` in the selected tile. */
  playInSelected(channel, device) {
    this.selected.play(channel, device);
    this.select(this.selected);
  }

  /** Once the catalog is known: bring back the channels this tab showed before a reload. */
  restore() {
    const saved = this.saved;
    this.saved = null;
    if (!saved) return;
    saved.channels.slice(0, this.tiles.length).forEach((channelId, index) => {
      const entry = channelId === null ? null : this.lookup(channelId);
      if (entry) this.tiles[index].play(entry.channel, entry.device);
    });
  }

  closeAll() {
    for (const tile of this.tiles) tile.destroy();
    document.removeEventListener('keydown', this.keyListener);
  }

  #playId(tile, channelId) {
    const entry = this.lookup(channelId);
    if (!entry) return;
    this.select(tile);
    tile.play(entry.channel, entry.device);
    this.select(tile);
  }

  #maximise(tile) {
    this.maximised?.element.classList.remove('is-maximized');
    this.maximised = tile;
    tile?.element.classList.add('is-maximized');
    this.grid.classList.toggle('is-maximized', tile !== null);
    if (tile) this.select(tile);
  }

  #changed() {
    if (this.saved === null) {
      const state = { layout: this.layout, channels: this.tiles.map((t) => t.channel?.id ?? null) };
      sessionStorage.setItem(WALL_KEY, JSON.stringify(state));
    }
    this.onTilesChange(this.tiles);
  }
}

function readSaved() {
  try {
    const state = JSON.parse(sessionStorage.getItem(WALL_KEY) || 'null');
    if (state && LAYOUTS.includes(state.layout) && Array.isArray(state.channels)) return state;
  } catch {
    // a damaged entry is forgotten
  }
  return null;
}

/** Forget the saved wall (on sign-out). */
export function forgetWall() {
  sessionStorage.removeItem(WALL_KEY);
}
