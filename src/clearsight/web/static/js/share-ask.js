// "New request": channels (found by name among other departments' channels, or entered by ID), the
// actions asked, the purpose and the period (ending 7 days ahead unless changed), sent as
// `POST /share-requests`.
//
// The search is `GET /share-requests/channels`: other departments' public and restricted channels with
// their owner. Sensitive channels are never listed, so those are added by the ID their owner gives.

import { askShare, findShareableChannels } from './share-api.js';
import { checkboxGroup, field, FormError, openForm } from './share-dialog.js';
import { clear, h } from './dom.js';
import { icon } from './icons.js';
import {
  askBody, dateFromLocalInput, DEFAULT_PERIOD_MS, localInputValue, parseChannelIds, SHARE_ACTIONS, shareableLabel,
} from './share-model.js';
import { channelLabel } from './tree-model.js';

const SEARCH_DEBOUNCE_MS = 200;
const SEARCH_LIMIT = 20;

/** Opens the form; resolves with the created request, or null. `channelName(id)` names a known channel,
 * `onNamed(id, label)` learns the name of one found by the search; `ownDepartment` is the caller's
 * department (null: none, so an administrator must name one). */
export function askForShare({ departments, isAdministrator, ownDepartment, channelName, onNamed }) {
  const picker = new ChannelPicker(channelName, onNamed);
  const actions = checkboxGroup('Actions asked', SHARE_ACTIONS.map(([value, label]) => ({ value, label, checked: value === 'live' })),
    'share-actions');
  const purpose = h('textarea', { class: 'input share-textarea', name: 'purpose', required: true, rows: '3', maxlength: '1000' });
  const now = new Date();
  const start = h('input', { class: 'input', type: 'datetime-local', name: 'period_start' });
  const end = h('input', { class: 'input', type: 'datetime-local', name: 'period_end', required: true,
    value: localInputValue(new Date(now.getTime() + DEFAULT_PERIOD_MS)) });
  let department = null;
  if (isAdministrator) {
    department = h('select', { class: 'input', name: 'department_id', required: !ownDepartment },
      ownDepartment ? h('option', { value: '', text: `My own department (${ownDepartment.name})` })
        : h('option', { value: '', text: 'Choose the requesting department' }),
      ...departments.map((d) => h('option', { value: String(d.id), text: d.name })));
  }
  const body = h('div', { class: 'share-form__fields' },
    department ? field('Requesting department', department, ownDepartment
      ? 'Platform administrators may ask on behalf of another department.'
      : 'You belong to no department: a share is always asked for one.') : null,
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

/** Search other departments' channels, or add IDs by hand; the chosen ones are listed with a remove button. */
class ChannelPicker {
  constructor(channelName, onNamed) {
    this.channelName = channelName;
    this.onNamed = onNamed;
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
      field('Find channels of other departments', this.search,
        'By name: public and restricted channels, with the department that decides.'),
      this.results,
      h('div', { class: 'share-picker__by-id' },
        field('Or add channel IDs', this.idInput,
          'Sensitive channels are not listed: add them by the ID their owner gives you.'),
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
      const page = await findShareableChannels(text.slice(0, 64), SEARCH_LIMIT, { signal: abort.signal });
      if (this.searchAbort !== abort) return;
      const channels = page.items;
      clear(this.results).append(...(channels.length
        ? channels.map((c) => h('li', {}, h('button', {
          class: 'button button--ghost share-picker__result', type: 'button', dataset: { channelId: c.id },
          'aria-label': `Add ${channelLabel(c)} of ${c.owner_department_name} (channel ${c.id})`,
          onclick: () => { this.onNamed?.(c.id, channelLabel(c)); this.#add(c.id, shareableLabel(c)); },
        }, icon('camera'), h('span', { text: channelLabel(c) }),
        h('span', { class: 'muted share-picker__owner', text: c.owner_department_name }),
        c.channel_class === 'public' ? null : h('span', { class: 'share-picker__class', text: c.channel_class }),
        h('span', { class: 'mono muted', text: `#${c.id}` }))))
        : [h('li', { class: 'muted', text: `No other department's channel matches “${text}”.` })]),
      ...(page.next_cursor !== null
        ? [h('li', { class: 'muted', text: `Only the first ${channels.length} are shown: type more of the name.` })] : []));
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
