// Sharing in the top bar: the "Sharing" button (with the number of incoming requests waiting), the view it
// opens, and the notices the watch raises. Only built for roles that may use share requests.

import { h } from './dom.js';
import { icon } from './icons.js';
import { SharingView } from './share-view.js';
import { ShareWatch } from './share-watch.js';

const MAX_NOTICES = 4;

export class SharingEntry {
  constructor(dialog, { isAdministrator }) {
    this.count = h('span', { class: 'share-button__count', hidden: true });
    this.button = h('button', { class: 'button button--ghost share-button', type: 'button', 'aria-haspopup': 'dialog',
      title: 'Share requests: ask other departments for channels, decide on theirs', onclick: () => this.view.open() },
    h('span', { text: 'Sharing' }), this.count);
    this.notices = h('div', { class: 'share-notices', role: 'status', 'aria-live': 'polite', 'aria-label': 'Sharing notices' });
    document.body.append(this.notices);
    this.view = new SharingView(dialog, { isAdministrator, onChanged: () => this.watch.refresh() });
    this.watch = new ShareWatch({
      onUpdate: ({ pending, notices }) => this.#update(pending, notices),
      onUnavailable: () => { this.button.hidden = true; },
    });
    this.watch.start();
  }

  stop() {
    this.watch.stop();
    for (const form of document.querySelectorAll('dialog.share-form[open]')) form.close(); // not over the login
    this.view.close();
    this.notices.remove();
  }

  #update(pending, notices) {
    this.count.hidden = pending === 0;
    this.count.textContent = String(pending);
    this.button.setAttribute('aria-label', pending ? `Sharing, ${pending} request${pending === 1 ? '' : 's'} waiting` : 'Sharing');
    for (const notice of notices) this.#notify(notice);
    if (notices.length && this.view.isOpen) this.view.reload();
  }

  #notify(notice) {
    const item = h('div', { class: `notice notice--${notice.kind} share-notice`, dataset: { shareId: notice.id } },
      h('span', { text: notice.text }),
      h('button', { class: 'button button--ghost button--icon', type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss',
        onclick: () => item.remove() }, icon('close')));
    this.notices.prepend(item);
    while (this.notices.children.length > MAX_NOTICES) this.notices.lastElementChild.remove();
  }
}
