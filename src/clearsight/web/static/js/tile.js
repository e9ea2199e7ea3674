// One tile of the video wall: its <video>, title bar (snapshot, maximise, close), what it is doing
// (starting, live, playing a recording, failed and why), the stream statistics shown on hover, and the
// timeline under it: click a recorded instant to play it here, speed and pause, "Live" to return.

import { clear, h } from './dom.js';
import { icon } from './icons.js';
import { LiveSession } from './live.js';
import { PlaybackControls } from './playback-controls.js';
import { PlaybackSession } from './playback.js';
import { statsRows } from './stats.js';
import { clockOf } from './timeline-model.js';
import { TimelineBar } from './timeline.js';
import { channelLabel } from './tree-model.js';

const STATE_BADGES = {
  requesting: 'STARTING', connecting: 'CONNECTING', buffering: 'BUFFERING', live: 'LIVE',
  reconnecting: 'RECONNECTING', failed: 'FAILED', ended: 'ENDED', playback: 'PLAYBACK', paused: 'PAUSED',
  'at-end': 'END',
};
const PLAYING_STATES = new Set(['live', 'playback', 'paused', 'empty']); // the picture shows: no message over it
const STATE_MESSAGES = {
  requesting: 'Starting the stream…',
  connecting: 'Connecting to the stream…',
  buffering: 'Waiting for the first picture…',
  reconnecting: 'Connection lost — reconnecting…',
  'at-end': 'End of the recording: click the timeline to play another instant, or go back to Live.',
};
const WAITING_STATES = new Set(['requesting', 'connecting', 'buffering', 'reconnecting']); // with a spinner
const NOTICE_MS = 6_000; // how long a playback notice stays over the picture

export class VideoTile {
  /** Handlers: onSelect(tile), onClose(tile), onSnapshot(tile), onMaximize(tile), onDrop(tile, channelId), onChange(tile). */
  constructor(index, handlers, dragType) {
    this.index = index;
    this.handlers = handlers;
    this.dragType = dragType;
    this.channel = null;
    this.device = null;
    this.session = null;
    this.playback = null; // a PlaybackSession while the tile shows a recording
    this.position = null; // the recorded instant shown (epoch ms)
    this.state = 'empty';
    this.serverStats = null;

    this.video = h('video', { class: 'tile__video', muted: true, playsinline: true, disablepictureinpicture: true });
    this.video.muted = true;
    this.title = h('span', { class: 'tile__title' });
    this.badge = h('span', { class: 'tile__badge' });
    this.message = h('div', { class: 'tile__message', role: 'status', hidden: true });
    this.statsList = h('dl');
    this.notice = h('div', { class: 'tile__notice', role: 'status', hidden: true });
    this.noticeTimer = null;
    this.controls = new PlaybackControls({
      onPause: () => this.playback?.pause(),
      onResume: () => this.playback?.resume(),
      onSpeed: (speed) => this.playback?.setSpeed(speed),
      onLive: () => this.#backToLive(),
    });
    this.timeline = new TimelineBar({ onPick: (ms) => this.playRecording(ms) }, [this.controls.element]);
    this.element = h('div', {
      class: 'tile', tabindex: '0', role: 'group', 'aria-label': `Tile ${index + 1}`, dataset: { index, state: 'empty' },
      onclick: () => handlers.onSelect(this),
      ondblclick: (e) => { if (!e.target.closest('button')) handlers.onMaximize(this); },
      onkeydown: (e) => this.#onKey(e),
      ondragover: (e) => this.#onDragOver(e), ondragleave: () => this.element.classList.remove('is-drop-target'),
      ondrop: (e) => this.#onDrop(e),
    },
    this.video,
    h('div', { class: 'tile__placeholder' }, icon('camera'),
      h('span', { text: 'Click a channel, or drop one here' }), h('span', { class: 'tile__number', text: index + 1 })),
    h('div', { class: 'tile__bar' }, this.title, this.badge,
      this.#tool('snapshot', 'Snapshot', () => handlers.onSnapshot(this)),
      this.#tool('maximize', 'Maximise / restore (double-click)', () => handlers.onMaximize(this)),
      this.#tool('close', 'Close', () => handlers.onClose(this))),
    this.message,
    h('div', { class: 'tile__stats', 'aria-label': 'Stream statistics' }, this.statsList),
    this.controls.clock, this.notice, this.timeline.element);
  }

  #tool(name, label, action) {
    return h('button', {
      class: `button button--ghost button--icon tile__tool tile__tool--${name}`, type: 'button', title: label,
      'aria-label': label, onclick: (e) => { e.stopPropagation(); action(); },
    }, icon(name));
  }

  get playing() {
    return this.channel !== null;
  }

  /** Show `channel` (from the catalog) here, replacing whatever played. */
  play(channel, device) {
    this.stop();
    this.channel = channel;
    this.device = device;
    this.title.textContent = channelLabel(channel);
    this.title.title = `${channelLabel(channel)} · ${channel.gb_id}`;
    this.element.dataset.channelId = channel.id;
    this.element.dataset.mode = 'live';
    this.timeline.setChannel(channel.id);
    this.timeline.setCursor(Date.now(), true);
    this.session = new LiveSession(channel.id, this.video, {
      onState: (state, note) => this.#setState(state, note),
      onStats: (stats) => {
        this.#showStats(stats);
        this.timeline.setCursor(Date.now(), true);
      },
      onFailure: (failure) => this.#showFailure(failure),
      onEnded: (reason) => this.#showEnded(reason),
    }, channelLabel(channel));
    this.session.start();
    this.handlers.onChange(this);
  }

  /** Play this tile's channel's recording from `ms` (epoch ms), or move the running playback there. */
  playRecording(ms) {
    if (!this.channel) return;
    this.position = ms;
    if (this.playback?.player) {
      this.playback.seek(ms);
      return;
    }
    const speed = this.playback?.speed ?? 1;
    this.stop();
    this.element.dataset.mode = 'playback';
    this.playback = new PlaybackSession(this.channel.id, this.video, {
      onState: (state) => {
        this.#setState(state);
        if (state === 'playback' || state === 'paused' || state === 'at-end') {
          this.#showPosition(this.position, this.playback.speed);
        }
      },
      onPosition: (at, playbackSpeed) => this.#showPosition(at, playbackSpeed),
      // Announced as it is sent, a second before the picture gets there: said, the cursor moves on with `position`.
      onGap: (from, to) => this.#showNotice(`Not recorded ${clockOf(from, true)}–${clockOf(to, true)}: skipped`),
      onNotice: (text) => this.#showNotice(text),
      onLive: () => this.#backToLive(), // as the Live button does
      onFailure: (failure) => this.#showFailure(failure),
      onEnded: (reason) => this.#showEnded(reason),
    }, channelLabel(this.channel));
    this.playback.start(ms, speed);
  }

  /** Stop the stream and empty the tile. */
  close() {
    this.stop();
    this.channel = null;
    this.device = null;
    delete this.element.dataset.channelId;
    delete this.element.dataset.mode;
    this.timeline.setChannel(null);
    this.title.textContent = '';
    this.#setState('empty');
    this.handlers.onChange(this);
  }

  /** Stop the stream and the timeline's reading, for good (the console is taken down). */
  destroy() {
    this.stop();
    this.timeline.destroy();
  }

  stop() {
    this.session?.stop();
    this.session = null;
    this.playback?.stop();
    this.playback = null;
    this.controls.hide();
    clearTimeout(this.noticeTimer);
    this.notice.hidden = true;
    delete this.element.dataset.position;
    this.serverStats = null;
    clear(this.statsList);
    delete this.element.dataset.step;
  }

  setSelected(selected) {
    this.element.classList.toggle('is-selected', selected);
  }

  #setState(state, note = '') {
    this.state = state;
    this.element.dataset.state = state;
    this.badge.textContent = STATE_BADGES[state] ?? '';
    const text = note || STATE_MESSAGES[state];
    if (text) {
      this.message.hidden = false;
      clear(this.message).append(WAITING_STATES.has(state) ? h('div', { class: 'spinner', 'aria-hidden': 'true' }) : null,
        h('div', { class: 'tile__message-text', text }));
    } else if (PLAYING_STATES.has(state)) {
      this.message.hidden = true;
      clear(this.message);
    }
  }

  #showPosition(ms, speed) {
    if (ms === null || !this.playback) return;
    this.position = ms;
    this.element.dataset.position = new Date(ms).toISOString();
    this.timeline.setCursor(ms);
    this.controls.show(ms, speed, this.playback.paused);
  }

  #showNotice(text) {
    clearTimeout(this.noticeTimer);
    this.notice.textContent = text;
    this.notice.hidden = false;
    this.noticeTimer = setTimeout(() => { this.notice.hidden = true; }, NOTICE_MS);
  }

  #backToLive() {
    if (this.channel) this.play(this.channel, this.device);
  }

  #showStats(stats) {
    this.serverStats = stats;
    const rows = statsRows(stats, this.session?.playerStats() ?? null);
    clear(this.statsList).append(...rows.flatMap(([label, value]) => [h('dt', { text: label }), h('dd', { text: value })]));
  }

  #showFailure(failure) {
    this.#setState('failed');
    this.element.dataset.step = failure.step;
    this.message.hidden = false;
    clear(this.message).append(h('div', { class: 'tile__failure', role: 'alert' },
      icon('alert'),
      h('div', { class: 'tile__failure-headline', text: failure.headline }),
      h('div', { class: 'tile__failure-step', text: `step: ${failure.step}` }),
      failure.detail ? h('div', { class: 'tile__failure-detail', text: failure.detail, title: failure.detail }) : null,
      failure.meta ? h('div', { class: 'tile__failure-meta', text: failure.meta }) : null,
      this.#retryButton('Retry')));
  }

  #showEnded(reason) {
    const recording = this.element.dataset.mode === 'playback';
    this.#setState('ended');
    this.message.hidden = false;
    clear(this.message).append(h('div', { class: 'tile__failure' },
      h('div', { class: 'tile__failure-headline', text: recording ? 'The recording ended' : 'The stream ended' }),
      h('div', { class: 'tile__failure-detail', text: reason }),
      recording ? this.#actionButton('Back to live', () => this.#backToLive()) : this.#retryButton('Play again')));
  }

  /** Start again what failed: the live view, or the recording from where it was. */
  #retryButton(label) {
    return this.#actionButton(label, () => {
      if (!this.channel) return;
      if (this.element.dataset.mode === 'playback' && this.position !== null) {
        this.playRecording(this.position);
      } else {
        this.play(this.channel, this.device);
      }
    });
  }

  #actionButton(label, action) {
    return h('button', {
      class: 'button', type: 'button', onclick: (e) => {
        e.stopPropagation();
        action();
      },
    }, icon('refresh'), label);
  }

  #onKey(event) {
    if (event.target !== this.element) return;
    if (event.key === 'Delete' || event.key === 'Backspace') {
      if (this.playing) this.handlers.onClose(this);
    } else if (event.key === 'Enter') {
      this.handlers.onMaximize(this);
    } else {
      return;
    }
    event.preventDefault();
  }

  #onDragOver(event) {
    if (!event.dataTransfer.types.includes(this.dragType)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    this.element.classList.add('is-drop-target');
  }

  #onDrop(event) {
    this.element.classList.remove('is-drop-target');
    const channelId = event.dataTransfer.getData(this.dragType);
    if (!channelId) return;
    event.preventDefault();
    this.handlers.onDrop(this, Number(channelId));
  }
}
