// The top bar: product mark, the wall's layout switch, sharing (for roles that may use it), a clock, who is
// signed in, sign-out.

import { clear, h } from './dom.js';
import { brandMark, icon } from './icons.js';
import { SharingEntry } from './share-entry.js';
import { canShare } from './share-model.js';

const CLOCK_TICK_MS = 1000;

export class TopBar {
  constructor(root, { user, layoutSwitch, onSignOut }) {
    this.clock = h('span', { class: 'topbar__clock', 'aria-label': 'Local time' });
    this.sharing = canShare(user.role)
      ? new SharingEntry(document.getElementById('sharing-view'), { isAdministrator: user.role === 'administrator' }) : null;
    clear(root).append(
      h('div', { class: 'topbar__brand' }, brandMark(), 'Clearsight', h('span', { class: 'topbar__product', text: 'Live view' })),
      h('div', { class: 'topbar__spacer' }),
      layoutSwitch,
      h('div', { class: 'topbar__spacer' }),
      this.sharing?.button,
      this.clock,
      h('div', { class: 'topbar__user' }, h('span', { text: user.username }),
        user.role ? h('span', { class: 'topbar__role', text: user.role }) : null),
      h('button', { class: 'button button--ghost', type: 'button', title: 'Sign out', onclick: onSignOut },
        icon('logout'), 'Sign out'));
    this.#tick();
    this.timer = setInterval(() => this.#tick(), CLOCK_TICK_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.sharing?.stop();
  }

  #tick() {
    const now = new Date();
    this.clock.textContent = `${now.toLocaleDateString([], { year: 'numeric', month: '2-digit', day: '2-digit' })} ${now.toLocaleTimeString([], { hour12: false })}`;
  }
}
