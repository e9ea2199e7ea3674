// Stated reasons for watching restricted and sensitive channels (issue 5): the platform answers a live-view
// or playback request without one with 403 and a problem type ending in `reason-required`; the console asks
// in a small dialog, retries with `?reason=`, and remembers the reason per channel for the signed-in session.

import { clear, h } from './dom.js';
import { streamFailure } from './failures.js';
import { icon } from './icons.js';
import { token } from './session.js';

export const REASON_REQUIRED_TYPE_SUFFIX = 'reason-required';
export const MAX_REASON_LENGTH = 500;
const REASONS_KEY = 'clearsight.reasons'; // sessionStorage: {owner, reasons: {channelId: text}}

/** Whether `error` (an ApiError) is the platform asking for a stated reason. */
export function isReasonRequired(error) {
  return error?.status === 403 && String(error.problem?.type ?? '').endsWith(REASON_REQUIRED_TYPE_SUFFIX);
}

/** The user declined to give a reason: nothing was started. */
export class ReasonDeclined extends Error {
  constructor(channelId) {
    super('a reason is required to view this channel');
    this.name = 'ReasonDeclined';
    this.channelId = channelId;
  }
}

// Reasons belong to one sign-in: they are kept with the token they were given under (its signature part,
// which no other token shares), so signing in again, or as someone else, starts with none.
function owner() {
  return (token() ?? '').split('.').pop();
}

function readReasons() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(REASONS_KEY) || 'null');
    if (saved && saved.owner === owner() && saved.reasons && typeof saved.reasons === 'object') return saved.reasons;
  } catch {
    // a damaged entry is forgotten
  }
  return {};
}

function writeReasons(reasons) {
  sessionStorage.setItem(REASONS_KEY, JSON.stringify({ owner: owner(), reasons }));
}

/** The reason remembered for `channelId` in this session, or ''. */
export function rememberedReason(channelId) {
  const reason = readReasons()[channelId];
  return typeof reason === 'string' ? reason : '';
}

const reasonListeners = new Set();

/** Calls `listener(channelId)` whenever a reason for a channel is accepted and remembered; returns the unsubscribe. */
export function onReasonRemembered(listener) {
  reasonListeners.add(listener);
  return () => reasonListeners.delete(listener);
}

export function rememberReason(channelId, reason) {
  writeReasons({ ...readReasons(), [channelId]: reason });
  for (const listener of reasonListeners) listener(channelId);
}

export function forgetReason(channelId) {
  const reasons = readReasons();
  delete reasons[channelId];
  writeReasons(reasons);
}

/** The dialog that asks for a reason; one question at a time, others wait their turn. */
export class ReasonDialog {
  constructor() {
    this.dialog = null;
    this.turn = Promise.resolve();
  }

  /** Ask for the reason to view `label`: the text, or null when cancelled (or `signal` aborts). */
  ask(channelId, label, notice = '', signal = undefined) {
    const asked = this.turn.then(() => {
      // A reason given for this channel while this question waited answers it.
      const known = rememberedReason(channelId);
      if (known && !notice) return known;
      return signal?.aborted ? null : this.#show(label, notice, signal);
    });
    this.turn = asked.catch(() => null);
    return asked;
  }

  #build() {
    const input = h('textarea', {
      class: 'input reason__input', id: 'reason-input', rows: '3', maxlength: String(MAX_REASON_LENGTH), required: true,
      placeholder: 'e.g. incident 2031 at the north gate', 'aria-describedby': 'reason-help',
    });
    const notice = h('div', { class: 'notice notice--error reason__notice', role: 'alert', hidden: true });
    const target = h('span', { class: 'reason__channel' });
    const cancel = h('button', { class: 'button', type: 'button', text: 'Cancel' });
    const submit = h('button', { class: 'button button--primary', type: 'submit', text: 'Continue' });
    const form = h('form', { class: 'reason__form' },
      h('div', { class: 'dialog__header' },
        h('h2', { class: 'dialog__title', id: 'reason-title' }, 'A reason is required'),
        h('button', { class: 'button button--ghost button--icon', type: 'button', title: 'Cancel', 'aria-label': 'Cancel',
          onclick: () => this.dialog.close() }, icon('close'))),
      h('div', { class: 'dialog__body reason__body' },
        h('p', { class: 'reason__help', id: 'reason-help' }, target,
          ' is a restricted channel: say why you need to view it. The reason is recorded in the audit log.'),
        h('label', { class: 'field__label', for: 'reason-input', text: 'Reason' }), input, notice),
      h('div', { class: 'dialog__footer' }, cancel, submit));
    const dialog = h('dialog', { class: 'dialog reason', 'aria-labelledby': 'reason-title' }, form);
    cancel.addEventListener('click', () => dialog.close());
    document.body.append(dialog);
    this.dialog = dialog;
    this.parts = { form, input, notice, target };
  }

  #show(label, noticeText, signal) {
    if (!this.dialog) this.#build();
    const { form, input, notice, target } = this.parts;
    const dialog = this.dialog;
    target.textContent = label;
    input.value = '';
    notice.hidden = !noticeText;
    clear(notice).append(noticeText);
    return new Promise((resolve) => {
      let answer = null;
      const listeners = new AbortController();
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        answer = text;
        dialog.close();
      }, { signal: listeners.signal });
      dialog.addEventListener('close', () => {
        listeners.abort();
        resolve(answer);
      }, { signal: listeners.signal });
      signal?.addEventListener('abort', () => dialog.close(), { signal: listeners.signal });
      dialog.showModal();
      input.focus();
    });
  }
}

const sharedDialog = new ReasonDialog();

/**
 * Run `call(reason)` for `channel` ({id, label}): first with the reason remembered for it (or none); when the
 * platform says a reason is required, ask for one and try again (asking again, with the platform's detail,
 * if it refuses that one too). Rejects with ReasonDeclined when the user cancels, with `call`'s error otherwise.
 * `ask(channelId, label, notice, signal)` is the dialog's unless given.
 */
export async function withReason(channel, call, { signal, ask = (...args) => sharedDialog.ask(...args) } = {}) {
  let reason = rememberedReason(channel.id);
  for (;;) {
    try {
      const result = await call(reason);
      if (reason) rememberReason(channel.id, reason);
      return result;
    } catch (error) {
      if (!isReasonRequired(error)) throw error;
      if (reason) forgetReason(channel.id);
      // A reason was sent and the platform still asks: show why with the question.
      const notice = reason ? (error.detail || 'The platform did not accept that reason.') : '';
      const given = await ask(channel.id, channel.label, notice, signal);
      if (given === null || given === undefined || given === '') throw new ReasonDeclined(channel.id);
      reason = given;
    }
  }
}

/**
 * A stream request of `session` (a live or playback session: channelId, label, stopped, handlers.onFailure):
 * `call({signal, reason})` with the reason prompt, its AbortController in `session.request` while it runs (so
 * stopping aborts it). Resolves to the answer, or to null after reporting the failure as `streamFailure(error,
 * notFoundStep)`; nothing is reported for an abort, a stopped session or a 401 (that signs out).
 */
export async function requestStream(session, call, notFoundStep = null) {
  const request = new AbortController();
  session.request = request;
  const { signal } = request;
  try {
    return await withReason({ id: session.channelId, label: session.label }, (reason) => call({ signal, reason }),
      { signal });
  } catch (error) {
    if (!session.stopped && error.name !== 'AbortError' && error.status !== 401) {
      session.handlers.onFailure(streamFailure(error, notFoundStep));
    }
    return null;
  } finally {
    if (session.request === request) session.request = null;
  }
}
