// Share requests as the Sharing view shows and sends them (pure): labels, periods in the browser's local
// time, the bodies of a new request and of a (narrowed) approval checked as the API would, and what changed
// between two readings of the lists.

export const SHARE_ACTIONS = [
  ['live', 'Live view'],
  ['playback', 'Playback'],
  ['export', 'Export'],
  ['ptz', 'PTZ control'],
  ['lift_mask', 'See behind privacy masks'],
  ['manage', 'Manage recording'],
];
export const CHANNEL_CLASSES = ['public', 'restricted', 'sensitive'];
export const SHARING_ROLES = ['administrator', 'operator']; // the API's share requests admit only these

const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_PERIOD_MS = 7 * DAY_MS; // access/share_requests.py DEFAULT_PERIOD
export const MAX_PERIOD_MS = 30 * DAY_MS; // access/share_requests.py MAX_PERIOD
const MAX_CHANNEL_ID = 2 ** 53 - 1; // what a JSON number carries exactly

const STATE_LABELS = {
  pending: 'Pending', approved: 'Approved', rejected: 'Rejected', revoked: 'Revoked', expired: 'Expired',
};

export function actionLabel(action) {
  return SHARE_ACTIONS.find(([name]) => name === action)?.[1] ?? action;
}

export function stateLabel(state) {
  return STATE_LABELS[state] ?? state;
}

/** May this role use share requests at all (the API answers 403 to the others). */
export function canShare(role) {
  return SHARING_ROLES.includes(role);
}

const pad = (n) => String(n).padStart(2, '0');

/** A Date as the value of an <input type="datetime-local"> (local time, to the minute). */
export function localInputValue(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The value of a datetime-local input as a Date, null when empty, undefined when unreadable. */
export function dateFromLocalInput(value) {
  if (!value) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, hh, mm, ss] = match.map(Number);
  const date = new Date(y, mo - 1, d, hh, mm, ss || 0);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** "2026-12-01 12:00" in local time. */
export function formatMoment(iso) {
  return localInputValue(new Date(iso)).replace('T', ' ');
}

export function formatPeriod(startIso, endIso) {
  return `${formatMoment(startIso)} → ${formatMoment(endIso)}`;
}

/** Channel IDs typed by hand ("12, 13 14"): {ids} or {error}. */
export function parseChannelIds(text) {
  const words = text.split(/[\s,;]+/).filter(Boolean);
  if (words.length === 0) return { error: 'Enter a channel ID.' };
  const ids = [];
  for (const word of words) {
    const id = /^\d+$/.test(word) ? Number(word) : NaN;
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_CHANNEL_ID) return { error: `“${word}” is not a channel ID.` };
    ids.push(id);
  }
  return { ids };
}

function checkPeriod(start, end, now) {
  if (end === undefined || start === undefined) return 'Enter the period as a date and a time.';
  if (end === null) return 'Say until when access is needed: a share always ends.';
  const from = start ?? now;
  if (end <= from) return 'The period must end after it begins.';
  if (end <= now) return 'The period is over already.';
  if (end - from > MAX_PERIOD_MS) return 'A share lasts at most 30 days.';
  return null;
}

/**
 * The body of `POST /share-requests` from the form's values, or {error} saying what to fix.
 * `form`: {channelIds, actions, purpose, start (Date|null: now), end (Date), departmentId (number|null)}.
 */
export function askBody(form, now = new Date()) {
  if (form.channelIds.length === 0) return { error: 'Pick at least one channel.' };
  if (form.actions.length === 0) return { error: 'Pick at least one action.' };
  const purpose = form.purpose.trim();
  if (!purpose) return { error: 'State the purpose: the owning department decides on it.' };
  const wrong = checkPeriod(form.start, form.end, now);
  if (wrong) return { error: wrong };
  const body = { channel_ids: [...new Set(form.channelIds)], actions: [...form.actions], purpose };
  if (form.start) body.period_start = form.start.toISOString();
  body.period_end = form.end.toISOString();
  if (form.departmentId) body.department_id = form.departmentId;
  return { body };
}

/**
 * The body of `POST /share-requests/{id}/approve`: only what narrows the request is sent, so an untouched
 * period (shown to the minute) is never sent back a few seconds off. `choice`: {channelIds, actions,
 * start (Date|null), end (Date|null), maxClass, note}; start/end are compared to the request's at minute
 * precision. Returns {body, narrowed} or {error}.
 */
export function approvalBody(share, choice, now = new Date()) {
  if (choice.channelIds.length === 0) return { error: 'Approve at least one channel, or reject the request.' };
  if (choice.actions.length === 0) return { error: 'Approve at least one action, or reject the request.' };
  if (choice.start === undefined || choice.end === undefined) return { error: 'Enter the period as a date and a time.' };
  const body = { max_class: choice.maxClass };
  const note = choice.note.trim();
  if (note) body.note = note;
  const requestedChannels = new Set(share.channel_ids);
  if (choice.channelIds.some((id) => !requestedChannels.has(id))) return { error: 'Only requested channels can be approved.' };
  if (choice.channelIds.length < requestedChannels.size) body.channel_ids = [...choice.channelIds];
  const requestedActions = new Set(share.actions);
  if (choice.actions.some((a) => !requestedActions.has(a))) return { error: 'Only requested actions can be approved.' };
  if (choice.actions.length < requestedActions.size) body.actions = [...choice.actions];
  const askedStart = new Date(share.period_start);
  const askedEnd = new Date(share.period_end);
  const start = choice.start && !sameMinute(choice.start, askedStart) ? choice.start : null;
  const end = choice.end && !sameMinute(choice.end, askedEnd) ? choice.end : null;
  if (start && start < askedStart) return { error: 'The approved period cannot begin before the requested one.' };
  if (end && end > askedEnd) return { error: 'The approved period cannot end after the requested one.' };
  const from = start ?? askedStart;
  const until = end ?? askedEnd;
  if (until <= from) return { error: 'The period must end after it begins.' };
  if (until <= now) return { error: 'The period is over already.' };
  if (start) body.period_start = start.toISOString();
  if (end) body.period_end = end.toISOString();
  const narrowed = Boolean(body.channel_ids || body.actions || start || end);
  return { body, narrowed };
}

function sameMinute(a, b) {
  return Math.floor(a.getTime() / 60_000) === Math.floor(b.getTime() / 60_000);
}

/**
 * What a share covers: once decided, the grant's channels, actions and period (narrowed or not); before,
 * what was asked. `narrowed`: the grant gives less than was asked.
 */
export function grantedScope(share) {
  const grant = share.grant;
  if (!grant) {
    return { channelIds: share.channel_ids, actions: share.actions, start: share.period_start, end: share.period_end, narrowed: false };
  }
  const channelIds = grant.scope_values.map(Number);
  const start = grant.valid_from ?? share.period_start;
  const end = grant.valid_until ?? share.period_end;
  const narrowed = channelIds.length < share.channel_ids.length || grant.actions.length < share.actions.length
    || new Date(start).getTime() !== new Date(share.period_start).getTime()
    || new Date(end).getTime() !== new Date(share.period_end).getTime();
  return { channelIds, actions: grant.actions, start, end, narrowed };
}

/** "Approved by owner-op on 2026-12-01 12:00: “note”", or null while pending. */
export function decisionText(share) {
  if (!share.decided_by) return null;
  const verb = share.state === 'rejected' ? 'Rejected' : 'Approved';
  const note = share.decision_note ? `: “${share.decision_note}”` : '';
  return `${verb} by ${share.decided_by} on ${formatMoment(share.decided_at)}${note}`;
}

/** "2026-12-01 12:00 by owner-op: “incident closed”", or null unless revoked. The share's own revocation
 * names who and why; a grant revoked directly (`DELETE /grants`) names who, without a reason. */
export function revocationText(share) {
  const at = share.revoked_at ?? share.grant?.revoked_at;
  if (share.state !== 'revoked' || !at) return null;
  const by = share.revoked_by ? ` by ${share.revoked_by}` : '';
  const reason = share.revoke_reason ? `: “${share.revoke_reason}”` : '';
  return `${formatMoment(at)}${by}${reason}`;
}

/** "Gate 3 · Police": a channel found by the share search, with the department that decides. */
export function shareableLabel(channel) {
  return `${channel.name || channel.gb_id} · ${channel.owner_department_name}`;
}

/** Whose requests the Sharing view lists, for the signed-in user (`GET /users/me`). The API lists a
 * department's requests, except for an administrator outside every department: every request, under both
 * directions. */
export function viewerNote(me) {
  const department = me?.department;
  if (me?.role !== 'administrator') return department ? `Requests of ${department.name}.` : null;
  if (department) {
    return `Requests of ${department.name}. As a platform administrator you may also ask on behalf of another `
      + 'department, and decide any department’s requests (GET /share-requests?department_id=…).';
  }
  return 'You belong to no department, so every department’s requests are listed, under both Outgoing and '
    + 'Incoming; as a platform administrator you may decide any of them, and ask on behalf of a department.';
}

/** Is an approved share still running (not revoked, not expired, not yet over by the clock). */
export function isActive(share, now = new Date()) {
  return share.state === 'approved' && new Date(share.grant?.valid_until ?? share.period_end) > now;
}

/**
 * What happened between two readings of the caller's requests (each a Map id → share, tagged with the
 * `direction` it was read under): new incoming requests and decisions on outgoing ones, as notices.
 */
export function shareChanges(before, after, departmentName = (id) => `department ${id}`) {
  const notices = [];
  for (const [id, share] of after) {
    const old = before.get(id);
    if (share.direction === 'incoming' && share.state === 'pending' && !old) {
      notices.push({ id, kind: 'info', text: `New share request #${id} from ${departmentName(share.requester_department_id)}: ${share.purpose}` });
    } else if (share.direction === 'outgoing' && old && old.state !== share.state) {
      notices.push({ id, kind: share.state === 'approved' ? 'info' : 'error', text: changeText(share, departmentName) });
    }
  }
  return notices;
}

function changeText(share, departmentName) {
  const owner = departmentName(share.owner_department_id);
  const note = share.decision_note ? `: ${share.decision_note}` : '';
  switch (share.state) {
    case 'approved': return `Share request #${share.id} was approved by ${owner}${note}. Its channels are in the channel list.`;
    case 'rejected': return `Share request #${share.id} was rejected by ${owner}${note}.`;
    case 'revoked': return `${share.revoked_by ?? owner} revoked share #${share.id}`
      + `${share.revoke_reason ? ` (“${share.revoke_reason}”)` : ''}: its channels are no longer available and open views of them have ended.`;
    case 'expired': return `Share #${share.id} from ${owner} has expired: its channels are no longer available.`;
    default: return `Share request #${share.id} is now ${stateLabel(share.state).toLowerCase()}.`;
  }
}

/** A failed call in plain words: the problem's detail (with the fields a 422 names), else its title. */
export function problemText(error) {
  const errors = error?.problem?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors.map((e) => {
      const field = (e.loc ?? []).filter((part) => part !== 'body').join('.');
      const message = String(e.msg ?? e).replace(/^Value error, /, '');
      return field ? `${field}: ${message}` : message;
    }).join('; ');
  }
  return error?.detail || error?.title || error?.message || 'Something went wrong.';
}
