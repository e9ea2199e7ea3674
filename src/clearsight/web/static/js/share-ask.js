// "New request": channels (found among those the caller may see, or entered by ID), the actions asked,
// the purpose and the period (ending 7 days ahead unless changed), sent as `POST /share-requests`.
//
// The API lists only channels the caller's grants reach (GET /channels); it has no search over other
// departments' channels, so a channel not yet visible is added by the ID its owner gives.

import { askShare, searchChannels } from './share-api.js';
import { checkboxGroup, field, FormError, openForm } from './share-dialog.js';
import { clear, h } from './dom.js';
import { icon } from './icons.js';
import {
  askBody, dateFromLocalInput, DEFAULT_PERIOD_MS, localInputValue, parseChannelIds, SHARE_ACTIONS,
} from './share-model.js';
import { channelLabel } from './tree-model.js';

const SEARCH_DEBOUNCE_MS = 200;
const SEARCH_LIMIT = 20;

/** Opens the form; resolves with the created request, or null. `channelName(id)` names a known channel. */
export function askForShare({ departments, isAdministrator, channelName }) {
  const picker = new ChannelPicker(channelName);
  const actions = checkboxGroup('Actions asked', SHARE_ACTIONS.map(([value, label]) => ({ value, label, checked: value === 'live' })),
    'share-actions');
  const purpose = h('textarea', { class: 'input share-textarea', name: 'purpose', required: true, rows: '3', maxlength: '1000' });
  const now = new Date();
  const start = h('input', { class: 'input', type: 'datetime-local', name: 'period_start' });
  const end = h('input', { class: 'input', type: 'datetime-local', name: 'period_end', required: true,
    value: localInputValue(new Date(now.getTime() + DEFAULT_PERIOD_MS)) });
  let department = null;
  if (isAdministrator) {
    department = h('select', { class: 'input', name: 'department_id' },
      h('option', { value: '', text: 'My own department' }),
      ...departments.map((d) => h('option', { value: String(d.id), text: d.name })));
  }
  const body = h('div', { class: 'share-form__fields' },
    department ? field('Requesting department', department, 'Platform administrators ask on behalf of a department.') : null,
    picker.element,
    actions.element,
    field('Purpose', purpose, 'Required: the owning department decides on it, and it is recorded.'),
    h('div', { class: 'share-form__row' },
      field('From', start, 'Empty: from now.'),
      field('Until', end, 'A share always ends: at most 30 days after it begins.')));

  return openForm({
    title: 'New share request', body, submitLabel: 'Send request', className: 'share-form--wide',
    submit: async () => {
      const checked = askBody({
        channelIds: picker.ids(), actions: actions.values(), purpose: purpose.value,
        start: dateFromLocalInput(start.value), end: dateFromLocalInput(end.value),
        departmentId: department?.value ? Number(department.value) : null,
      });
      if (checked.error) throw new FormError(checked.error);
      return askShare(checked.body);
    },
  });
}

/** Search the visible channels, or add IDs by hand; the chosen ones are listed with a remove button. */
class ChannelPicker {
  constructor(channelName) {
    this.channelName = channelName;
    this.chosen = new Map(); // channel id → label
    this.searchTimer = null;
    this.searchAbort = null;
    this.search = h('input', { class: 'input', type: 'search', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'Channel name', oninput: () => this.#searchSoon(),
      onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); this.#searchNow(); } } });
    this.results = h('ul', { class: 'share-picker__results', 'aria-label': 'Matching channels', 'aria-live': 'polite' });
    this.idInput = h('input', { class: 'input', type: 'text', inputmode: 'numeric', autocomplete: 'off',
      placeholder: 'e.g. 12, 13', onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); this.#addTyped(); } } });
    this.idError = h('div', { class: 'share-picker__error', role: 'alert' });
    this.list = h('ul', { class: 'share-picker__chosen', 'aria-label': 'Channels asked for' });
    this.element = h('fieldset', { class: 'share-picker' }, h('legend', { class: 'field__label', text: 'Channels' }),
      field('Find channels you can see', this.search),
      this.results,
      h('div', { class: 'share-picker__by-id' },
        field('Or add channel IDs', this.idInput,
          'Channels of another department you cannot see yet: the IDs its owner gives you.'),
        h('button', { class: 'button', type: 'button', text: 'Add', onclick: () => this.#addTyped() })),
      this.idError,
      this.list);
    this.#drawChosen();
  }

  ids() {
    return [...this.chosen.keys()];
  }

  #searchSoon() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.#searchNow(), SEARCH_DEBOUNCE_MS);
  }

  async #searchNow() {
    clearTimeout(this.searchTimer);
    const text = this.search.value.trim();
    this.searchAbort?.abort();
    if (!text) {
      clear(this.results);
      return;
    }
    const abort = new AbortController();
    this.searchAbort = abort;
    try {
      const channels = await searchChannels(text.slice(0, 64), SEARCH_LIMIT, { signal: abort.signal });
      if (this.searchAbort !== abort) return;
      clear(this.results).append(...(channels.length
        ? channels.map((c) => h('li', {}, h('button', {
          class: 'button button--ghost share-picker__result', type: 'button', dataset: { channelId: c.id },
          'aria-label': `Add ${channelLabel(c)} (channel ${c.id})`, onclick: () => this.#add(c.id, channelLabel(c)),
        }, icon('camera'), h('span', { text: channelLabel(c) }), h('span', { class: 'mono muted', text: `#${c.id}` }))))
        : [h('li', { class: 'muted', text: `No channel you can see matches “${text}”.` })]));
    } catch (error) {
      if (error.name === 'AbortError') return;
      clear(this.results).append(h('li', { class: 'share-picker__error', text: error.detail || error.message }));
    }
  }

  #addTyped() {
    const parsed = parseChannelIds(this.idInput.value);
    this.idError.textContent = parsed.error ?? '';
    if (parsed.error) return;
    for (const id of parsed.ids) this.#add(id, this.channelName(id));
    this.idInput.value = '';
  }

  #add(id, label) {
    this.chosen.set(Number(id), label);
    this.#drawChosen();
  }

  #drawChosen() {
    if (this.chosen.size === 0) {
      clear(this.list).append(h('li', { class: 'muted', text: 'No channel chosen yet.' }));
      return;
    }
    clear(this.list).append(...[...this.chosen].map(([id, label]) => h('li', { class: 'share-chip', dataset: { channelId: id } },
      h('span', { text: label }),
      h('button', { class: 'button button--ghost button--icon', type: 'button', title: `Remove ${label}`,
        'aria-label': `Remove ${label}`, onclick: () => { this.chosen.delete(id); this.#drawChosen(); } }, icon('close')))));
  }
}
