// The PTZ pad for the selected tile's channel: hold a direction or zoom key to move (POST .../ptz with
// action "move"), let go to stop (action "stop"); a speed slider; presets called and saved by number.

import { sendPtz } from './api.js';
import { clear, h } from './dom.js';
import { icon } from './icons.js';
import { channelLabel } from './tree-model.js';

const MAX_SPEED = 255; // GB/T 28181-2016 A.3.2: pan and tilt speed 00H–FFH
const DEFAULT_SPEED = 128; // the API's default: half the range
const MAX_ZOOM_SPEED = 15; // A.3.2: zoom speed is 4 bits
const MIN_PRESET = 1;
const MAX_PRESET = 255; // A.3.4: presets 01H–FFH
const PTZ_TYPE_FIXED = 3; // GB/T 28181 PTZType 3: a fixed camera
const STEERING_ROLES = ['administrator', 'operator'];

// [name, label, pan, tilt] on a 3×3 pad; the middle key stops.
const PAD = [
  ['up-left', 'Up left', -1, 1], ['up', 'Up', 0, 1], ['up-right', 'Up right', 1, 1],
  ['left', 'Left', -1, 0], ['stop', 'Stop', 0, 0], ['right', 'Right', 1, 0],
  ['down-left', 'Down left', -1, -1], ['down', 'Down', 0, -1], ['down-right', 'Down right', 1, -1],
];

/** The zoom speed (0–15) that matches a pan/tilt speed (0–255). */
export function zoomSpeedFor(speed) {
  return Math.max(1, Math.min(MAX_ZOOM_SPEED, Math.round((speed * MAX_ZOOM_SPEED) / MAX_SPEED)));
}

export class PtzPad {
  constructor(root, { role }) {
    this.role = role;
    this.channel = null;
    this.moving = null; // {channelId, key element} while a key is held
    this.queue = Promise.resolve(); // commands go out in order: a stop never overtakes its move
    this.keys = [];

    this.targetName = h('div', { class: 'ptz__target-name', text: 'No channel selected' });
    this.targetId = h('div', { class: 'ptz__target-id', text: 'Select a tile that shows a channel' });
    this.speed = h('input', {
      class: 'ptz__slider', type: 'range', min: 1, max: MAX_SPEED, value: DEFAULT_SPEED, 'aria-label': 'PTZ speed',
      oninput: () => this.#showSpeed(),
    });
    this.speedValue = h('span', { class: 'ptz__speed-value' });
    this.preset = h('input', { class: 'input mono', type: 'number', min: MIN_PRESET, max: MAX_PRESET, value: 1,
      'aria-label': 'Preset number' });
    this.status = h('div', { class: 'ptz__status', role: 'status' });
    this.hint = h('div', { class: 'ptz__hint' });

    const pad = h('div', { class: 'ptz__pad', role: 'group', 'aria-label': 'Pan and tilt' });
    for (const [name, label, pan, tilt] of PAD) {
      const key = name === 'stop'
        ? this.#button(`ptz__key ptz__key--stop`, label, icon('stop'), { onclick: () => this.#stopNow() })
        : this.#holdKey(`ptz__key ptz__key--${name}`, label, icon('arrow'), { pan, tilt, zoom: 0 });
      pad.append(key);
    }
    const zoom = h('div', { class: 'ptz__zoom', role: 'group', 'aria-label': 'Zoom' },
      this.#holdKey('ptz__key ptz__key--zoom-out', 'Zoom out', [icon('zoom-out'), 'Zoom out'], { pan: 0, tilt: 0, zoom: -1 }),
      this.#holdKey('ptz__key ptz__key--zoom-in', 'Zoom in', [icon('zoom-in'), 'Zoom in'], { pan: 0, tilt: 0, zoom: 1 }));
    const presets = h('div', { class: 'ptz__presets' },
      h('label', { class: 'field' }, h('span', { class: 'field__label', text: 'Preset' }), this.preset),
      this.#button('button', 'Go to preset', 'Go', { onclick: () => this.#preset('preset_call') }),
      this.#button('button', 'Save the current position as this preset', 'Save', { onclick: () => this.#preset('preset_set') }));

    clear(root).append(h('div', { class: 'ptz' },
      h('div', { class: 'pane__title' }, h('span', { text: 'PTZ control' })),
      h('div', { class: 'ptz__target' }, this.targetName, this.targetId),
      pad, zoom,
      h('div', { class: 'ptz__speed' },
        h('div', { class: 'ptz__speed-row' }, h('span', { text: 'Speed' }), this.speedValue), this.speed),
      presets, this.status, this.hint));
    this.#showSpeed();
    this.setChannel(null);
  }

  /** The channel of the selected tile (or null). */
  setChannel(channel) {
    if (this.moving && this.moving.channelId !== channel?.id) this.#release();
    this.channel = channel;
    this.status.textContent = '';
    this.status.classList.remove('is-error');
    let reason = '';
    if (!channel) reason = 'Select a tile that shows a channel to steer its camera.';
    else if (!STEERING_ROLES.includes(this.role)) reason = `Your role (${this.role || 'unknown'}) may watch but not steer cameras.`;
    else if (channel.ptz_type === PTZ_TYPE_FIXED) reason = 'This is a fixed camera: it cannot pan, tilt or zoom.';
    const enabled = reason === '';
    for (const key of this.keys) key.disabled = !enabled;
    this.preset.disabled = !enabled;
    this.speed.disabled = !enabled;
    this.hint.textContent = reason || 'Hold a key to move; release it to stop.';
    this.targetName.textContent = channel ? channelLabel(channel) : 'No channel selected';
    this.targetId.textContent = channel ? channel.gb_id : 'Select a tile that shows a channel';
  }

  #button(className, label, content, handlers) {
    const button = h('button', { class: className, type: 'button', title: label, 'aria-label': label, ...handlers },
      ...[content].flat());
    this.keys.push(button);
    return button;
  }

  #holdKey(className, label, content, axes) {
    const key = this.#button(className, label, content, {});
    key.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || key.disabled) return;
      key.setPointerCapture(e.pointerId);
      this.#press(key, axes, label);
    });
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) key.addEventListener(type, () => this.#release(key));
    key.addEventListener('keydown', (e) => {
      if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
        e.preventDefault();
        this.#press(key, axes, label);
      }
    });
    key.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') this.#release(key); });
    key.addEventListener('blur', () => this.#release(key));
    return key;
  }

  #press(key, { pan, tilt, zoom }, label) {
    if (!this.channel) return;
    if (this.moving) this.#release();
    const speed = Number(this.speed.value);
    key.classList.add('is-pressed');
    this.moving = { channelId: this.channel.id, key };
    const command = { action: 'move', pan, tilt, zoom, speed, zoom_speed: zoomSpeedFor(speed) };
    this.#send(this.channel.id, command, `Moving: ${label.toLowerCase()}`);
  }

  #release(key) {
    if (!this.moving || (key && this.moving.key !== key)) return;
    const { channelId } = this.moving;
    this.moving.key.classList.remove('is-pressed');
    this.moving = null;
    this.#send(channelId, { action: 'stop' }, 'Stopped');
  }

  #stopNow() {
    if (this.moving) this.#release();
    else if (this.channel) this.#send(this.channel.id, { action: 'stop' }, 'Stopped');
  }

  #preset(action) {
    if (!this.channel) return;
    const number = Number(this.preset.value);
    if (!Number.isInteger(number) || number < MIN_PRESET || number > MAX_PRESET) {
      this.#showError(`Presets are numbered ${MIN_PRESET} to ${MAX_PRESET}.`);
      return;
    }
    const done = action === 'preset_call' ? `Going to preset ${number}` : `Saved preset ${number}`;
    this.#send(this.channel.id, { action, preset: number }, done);
  }

  #send(channelId, command, doneText) {
    this.queue = this.queue.then(async () => {
      try {
        await sendPtz(channelId, command);
        if (this.channel?.id === channelId) {
          this.status.classList.remove('is-error');
          this.status.textContent = doneText;
        }
      } catch (error) {
        if (this.channel?.id === channelId && error.status !== 401) {
          this.#showError(`PTZ failed: ${error.detail || error.title || error.message}`);
        }
      }
    });
  }

  #showError(text) {
    this.status.classList.add('is-error');
    this.status.textContent = text;
  }

  #showSpeed() {
    const speed = Number(this.speed.value);
    this.speedValue.textContent = `${Math.round((speed / MAX_SPEED) * 100)} %`;
  }
}
