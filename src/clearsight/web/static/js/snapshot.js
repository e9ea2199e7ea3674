// The snapshot dialog: the channel's current picture from `GET /channels/{id}/snapshot` (a JPEG, fetched
// with the bearer token and, for a restricted or sensitive channel, its stated reason), drawn on a canvas,
// with a download link to the same bytes.

import { fetchSnapshot } from './api.js';
import { clear, h } from './dom.js';
import { icon } from './icons.js';
import { withReason } from './reason.js';
import { channelLabel } from './tree-model.js';

function fileStamp(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export class SnapshotDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.objectUrl = null;
    this.request = null;
    this.title = h('h2', { class: 'dialog__title', id: 'snapshot-title', text: 'Snapshot' });
    this.body = h('div', { class: 'dialog__body' });
    this.download = h('a', { class: 'button button--primary', 'aria-disabled': 'true', download: 'snapshot.jpg' },
      icon('download'), 'Download');
    clear(dialog).append(
      h('div', { class: 'dialog__header' }, this.title,
        h('button', { class: 'button button--ghost button--icon', type: 'button', title: 'Close', 'aria-label': 'Close',
          onclick: () => dialog.close() }, icon('close'))),
      this.body,
      h('div', { class: 'dialog__footer' },
        h('button', { class: 'button', type: 'button', onclick: () => dialog.close() }, 'Close'), this.download));
    dialog.addEventListener('close', () => this.#release());
    dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); }); // the backdrop
  }

  /** Fetch and show the current picture of `channel`. */
  async show(channel) {
    this.#release();
    const taken = new Date();
    this.title.textContent = `Snapshot · ${channelLabel(channel)}`;
    this.#setDownload(null);
    clear(this.body).append(h('div', { class: 'spinner', 'aria-hidden': 'true' }),
      h('div', { class: 'muted', text: 'Taking a snapshot…' }));
    if (!this.dialog.open) this.dialog.showModal();
    const request = new AbortController();
    this.request = request;
    try {
      const { signal } = request;
      const blob = await withReason({ id: channel.id, label: channelLabel(channel) },
        (reason) => fetchSnapshot(channel.id, { signal, reason }), { signal });
      const bitmap = await createImageBitmap(blob);
      if (this.request !== request) return;
      const { width, height } = bitmap;
      const canvas = h('canvas', { class: 'dialog__image', width, height,
        role: 'img', 'aria-label': `Snapshot of ${channelLabel(channel)}` });
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      bitmap.close();
      this.objectUrl = URL.createObjectURL(blob);
      const name = `${(channel.name || channel.gb_id).replace(/[^\p{L}\p{N}._-]+/gu, '_')}-${fileStamp(taken)}.jpg`;
      this.#setDownload(name);
      clear(this.body).append(canvas,
        h('div', { class: 'dialog__meta', text: `${channel.gb_id} · ${width}×${height} · ${taken.toLocaleString()}` }));
    } catch (error) {
      if (error.name === 'AbortError' || this.request !== request) return;
      if (error.status === 401) {
        this.dialog.close();
        return;
      }
      const detail = error.detail || error.message;
      clear(this.body).append(h('div', { class: 'notice notice--error', role: 'alert' },
        h('strong', { text: `${error.title || 'Snapshot failed'}` }), h('br'), detail));
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  #setDownload(name) {
    if (name && this.objectUrl) {
      this.download.href = this.objectUrl;
      this.download.download = name;
      this.download.removeAttribute('aria-disabled');
    } else {
      this.download.removeAttribute('href');
      this.download.setAttribute('aria-disabled', 'true');
    }
  }

  #release() {
    this.request?.abort();
    this.request = null;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }
}
