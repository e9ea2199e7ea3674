// The Sharing view's modal forms: a <dialog> with a title, labelled fields, the platform's reason when the
// call fails, and Cancel / the action. Escape or Cancel closes it; the dialog is removed once closed and
// focus goes back to where it was.

import { clear, h } from './dom.js';
import { icon } from './icons.js';
import { problemText } from './share-model.js';

let nextId = 0;

/** A fresh element ID for labels (`for`) and descriptions (`aria-describedby`). */
export function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled control: <label for> + the control, and an optional hint tied to it by aria-describedby. */
export function field(label, control, hint = '') {
  control.id ||= uniqueId('share-field');
  let hintNode = null;
  if (hint) {
    hintNode = h('span', { class: 'field__hint', id: uniqueId('share-hint'), text: hint });
    control.setAttribute('aria-describedby', hintNode.id);
  }
  return h('div', { class: 'field' }, h('label', { class: 'field__label', for: control.id, text: label }), control, hintNode);
}

/** A group of checkboxes: [{value, label, checked}] under a <fieldset>; `.values()` gives the checked ones. */
export function checkboxGroup(legend, options, name) {
  const boxes = options.map((option) => h('input', { type: 'checkbox', name, value: option.value, checked: option.checked }));
  const element = h('fieldset', { class: 'share-checks' }, h('legend', { class: 'field__label', text: legend }),
    ...options.map((option, i) => h('label', { class: 'share-check' }, boxes[i], h('span', { text: option.label }))));
  return { element, values: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

/**
 * Open a modal form. `submit()` does the work: return normally to close, throw an ApiError (or
 * `new FormError(text)`) to show why and stay open. Resolves with submit's result, or null when cancelled.
 */
export function openForm({ title, body, submitLabel, danger = false, submit, className = '' }) {
  const opener = document.activeElement;
  const titleId = uniqueId('share-dialog-title');
  const error = h('div', { class: 'notice notice--error', role: 'alert', hidden: true });
  const submitButton = h('button', { class: `button ${danger ? 'button--danger' : 'button--primary'}`, type: 'submit', text: submitLabel });
  const dialog = h('dialog', { class: `dialog share-form ${className}`.trim(), 'aria-labelledby': titleId });
  let result = null;
  const form = h('form', { method: 'dialog', novalidate: true, onsubmit: (e) => send(e) },
    h('div', { class: 'dialog__header' }, h('h2', { class: 'dialog__title', id: titleId, text: title }),
      h('button', { class: 'button button--ghost button--icon', type: 'button', title: 'Close', 'aria-label': 'Close',
        onclick: () => dialog.close() }, icon('close'))),
    h('div', { class: 'share-form__body' }, error, body),
    h('div', { class: 'dialog__footer' },
      h('button', { class: 'button', type: 'button', text: 'Cancel', onclick: () => dialog.close() }), submitButton));
  dialog.append(form);

  async function send(event) {
    event.preventDefault();
    error.hidden = true;
    submitButton.disabled = true;
    try {
      result = await submit();
      dialog.close();
    } catch (failure) {
      if (failure?.status === 401) {
        dialog.close();
        return;
      }
      clear(error).append(failure instanceof FormError ? failure.message : problemText(failure));
      error.hidden = false;
    } finally {
      submitButton.disabled = false;
    }
  }

  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A mistake in the form found before calling the platform: shown like the platform's own reasons. */
export class FormError extends Error {}
