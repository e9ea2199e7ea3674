// The owner's decisions on a share request: approve (optionally narrowed to fewer channels, fewer actions,
// a shorter period, a lower class), reject with a reason, and revoke an approved share after confirming.

import { h } from './dom.js';
import { approveShare, rejectShare, revokeShare } from './share-api.js';
import { checkboxGroup, field, FormError, openForm } from './share-dialog.js';
import {
  actionLabel, approvalBody, CHANNEL_CLASSES, dateFromLocalInput, formatPeriod, localInputValue,
} from './share-model.js';

function summary(share, names) {
  return h('dl', { class: 'share-summary' },
    h('dt', { text: 'Asked by' }), h('dd', { text: `${names.department(share.requester_department_id)} (${share.requested_by})` }),
    h('dt', { text: 'Purpose' }), h('dd', { text: share.purpose }),
    h('dt', { text: 'Period' }), h('dd', { text: formatPeriod(share.period_start, share.period_end) }));
}

/** Approve `share`; every box starts as requested, so unticking narrows. Resolves with the decided request. */
export function approve(share, names) {
  const channels = checkboxGroup('Channels approved',
    share.channel_ids.map((id) => ({ value: String(id), label: names.channel(id), checked: true })), 'approve-channels');
  const actions = checkboxGroup('Actions approved',
    share.actions.map((a) => ({ value: a, label: actionLabel(a), checked: true })), 'approve-actions');
  const start = h('input', { class: 'input', type: 'datetime-local', name: 'period_start',
    value: localInputValue(new Date(share.period_start)) });
  const end = h('input', { class: 'input', type: 'datetime-local', name: 'period_end',
    value: localInputValue(new Date(share.period_end)) });
  const maxClass = h('select', { class: 'input', name: 'max_class' },
    ...CHANNEL_CLASSES.map((c) => h('option', { value: c, text: c, selected: c === 'sensitive' })));
  const note = h('textarea', { class: 'input share-textarea', name: 'note', rows: '2', maxlength: '1000' });
  const body = h('div', { class: 'share-form__fields' }, summary(share, names), channels.element, actions.element,
    h('div', { class: 'share-form__row' },
      field('From', start, 'Not before the requested start.'),
      field('Until', end, 'Not after the requested end.')),
    field('Highest channel class', maxClass, 'Approved channels above this class stay closed.'),
    field('Note (optional)', note, 'Shown to the requesting department.'));
  return openForm({
    title: `Approve share request #${share.id}`, body, submitLabel: 'Approve', className: 'share-form--wide',
    submit: async () => {
      const checked = approvalBody(share, {
        channelIds: channels.values().map(Number), actions: actions.values(),
        start: dateFromLocalInput(start.value), end: dateFromLocalInput(end.value),
        maxClass: maxClass.value, note: note.value,
      });
      if (checked.error) throw new FormError(checked.error);
      return approveShare(share.id, checked.body);
    },
  });
}

/** Reject `share` with a reason (required by the API). */
export function reject(share, names) {
  const reason = h('textarea', { class: 'input share-textarea', name: 'reason', rows: '3', required: true, maxlength: '1000' });
  return openForm({
    title: `Reject share request #${share.id}`, submitLabel: 'Reject', danger: true,
    body: h('div', { class: 'share-form__fields' }, summary(share, names),
      field('Reason', reason, 'Required: the requesting department sees it.')),
    submit: async () => {
      if (!reason.value.trim()) throw new FormError('State the reason for the rejection.');
      return rejectShare(share.id, reason.value.trim());
    },
  });
}

/** Revoke an approved share after the owner confirms it. */
export function revoke(share, names) {
  const reason = h('textarea', { class: 'input share-textarea', name: 'reason', rows: '2', maxlength: '1000' });
  return openForm({
    title: `Revoke share #${share.id}?`, submitLabel: 'Revoke now', danger: true,
    body: h('div', { class: 'share-form__fields' },
      h('p', { class: 'share-warning', text: `${names.department(share.requester_department_id)} loses access at once: `
        + 'its open views of these channels end, and the channels leave its channel list.' }),
      summary(share, names),
      field('Reason (optional)', reason)),
    submit: async () => revokeShare(share.id, reason.value.trim()),
  });
}
