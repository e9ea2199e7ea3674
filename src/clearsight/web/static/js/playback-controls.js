// The playback controls of a tile's timeline: pause / resume, 1× 2× 4× 8×, "Live" back to live view; and the
// clock over the picture: the recorded instant being shown. Shown only while the tile plays a recording.

import { h } from './dom.js';
import { SPEEDS } from './playback.js';
import { stampOf } from './timeline-model.js';

export class PlaybackControls {
  /** Handlers: `onPause()`, `onResume()`, `onSpeed(speed)`, `onLive()`. */
  constructor(handlers) {
    this.paused = false;
    this.pauseButton = h('button', {
      class: 'button button--ghost timeline__pause', type: 'button', text: 'Pause', 'aria-pressed': 'false',
      onclick: (e) => { e.stopPropagation(); if (this.paused) handlers.onResume(); else handlers.onPause(); },
    });
    this.speedButtons = SPEEDS.map((speed) => h('button', {
      class: 'button button--ghost timeline__speed', type: 'button', text: `${speed}×`, dataset: { speed },
      'aria-pressed': String(speed === 1), title: `Play at ${speed}× speed`,
      onclick: (e) => { e.stopPropagation(); handlers.onSpeed(speed); },
    }));
    this.clock = h('div', { class: 'tile__clock', role: 'status', 'aria-label': 'Playback position', hidden: true });
    this.element = h('div', { class: 'timeline__playback', role: 'group', 'aria-label': 'Playback', hidden: true },
      this.pauseButton,
      h('div', { class: 'timeline__speeds', role: 'group', 'aria-label': 'Speed' }, this.speedButtons),
      h('button', {
        class: 'button timeline__live', type: 'button', text: 'Live', title: 'Back to live view',
        onclick: (e) => { e.stopPropagation(); handlers.onLive(); },
      }));
  }

  /** Hide the controls (live view, an empty tile). */
  hide() {
    this.element.hidden = true;
    this.clock.hidden = true;
  }

  /** Show them for a recording at `ms` (null: not known yet), played at `speed`, paused or not. */
  show(ms, speed, paused) {
    this.element.hidden = false;
    this.clock.hidden = ms === null;
    this.paused = paused;
    this.pauseButton.textContent = paused ? 'Resume' : 'Pause';
    this.pauseButton.setAttribute('aria-pressed', String(paused));
    for (const button of this.speedButtons) button.setAttribute('aria-pressed', String(Number(button.dataset.speed) === speed));
    this.clock.textContent = ms === null ? '' : `${stampOf(ms)} · ${speed}×${paused ? ' · paused' : ''}`;
  }
}
