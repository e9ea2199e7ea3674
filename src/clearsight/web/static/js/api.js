// The platform's HTTP API: bearer token on every call, RFC 9457 problem details turned into ApiError,
// and a 401 from anywhere reported once to whoever shows the login screen.

import { token } from './session.js';

export const API_BASE = '/api/v1';
const PROBLEM_TYPES = ['application/problem+json', 'application/json'];

/** A failed API call: the HTTP status and the problem document's members (`title`, `detail`, `step`, ...). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || '';
  }
}

let unauthorizedHandler = () => {};

/** Called with the problem document whenever an authenticated call gets 401. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

async function readProblem(response) {
  const type = response.headers.get('content-type') || '';
  if (PROBLEM_TYPES.some((t) => type.includes(t))) {
    try {
      const body = await response.json();
      if (body && typeof body === 'object') return body;
    } catch {
      // fall through: a broken body still has a status
    }
  }
  const text = await response.text().catch(() => '');
  return { title: response.statusText || `HTTP ${response.status}`, status: response.status, detail: text.slice(0, 300) };
}

/** `fetch` an API path; resolves to the Response when it is 2xx, else rejects with ApiError. */
export async function request(method, path, { json, form, signal, authenticated = true } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const bearer = authenticated ? token() : null;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(API_BASE + path, { method, headers, body, signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { title: 'Network error', detail: 'The platform could not be reached.' });
  }
  if (response.ok) return response;
  const problem = await readProblem(response);
  if (response.status === 401 && authenticated) unauthorizedHandler(problem);
  throw new ApiError(response.status, problem);
}

async function getJson(path, options) {
  return (await request('GET', path, options)).json();
}

async function postJson(path, body, options = {}) {
  return (await request('POST', path, { ...options, json: body })).json();
}

// --- endpoints ---

/** `POST /auth/token` (OAuth2 password grant): {access_token, token_type, expires_in}. */
export async function signIn(username, password) {
  const response = await request('POST', '/auth/token', {
    form: { grant_type: 'password', username, password }, authenticated: false,
  });
  return response.json();
}

export const listRegions = (options) => getJson('/regions', options);

/**
 * A page of `GET /channels` or `GET /devices` by cursor (docs/access.md, "Paging channel and device lists"): the
 * first page without `cursor` and without a count, then each page after the `next_cursor` of the one before;
 * every page costs what the first does.
 */
function listByCursor(path, cursor, limit, options) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  else query.set('count', 'false');
  return getJson(`${path}?${query}`, options);
}

export const listDevices = (cursor, limit, options) => listByCursor('/devices', cursor, limit, options);

export const listChannels = (cursor, limit, options) => listByCursor('/channels', cursor, limit, options);

/**
 * The query string (`?…`, or '' when empty) of `params` plus `reason=…`, which every read of a restricted or
 * sensitive channel's pictures needs (live view, snapshots, timeline, thumbnails, playback); none without one.
 */
function queryWithReason(params, reason) {
  const query = new URLSearchParams(params);
  if (reason) query.set('reason', reason);
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** `POST /channels/{id}/live`: answers once video flows, with the stream URLs, codec and MIME type. */
export const startLive = (channelId, { reason, ...options } = {}) =>
  postJson(`/channels/${channelId}/live${queryWithReason({}, reason)}`, undefined, options);

/** `GET /channels/{id}/recordings`: covered `ranges`, `gaps` and `segments` within [start, end) (Date or ISO). */
export function listRecordings(channelId, start, end, { reason, ...options } = {}) {
  const query = queryWithReason({ start: new Date(start).toISOString(), end: new Date(end).toISOString() }, reason);
  return getJson(`/channels/${channelId}/recordings${query}`, options);
}

/** `GET /channels/{id}/thumbnails?at=`: {blob, at} (the JPEG nearest `at` within 5 minutes, and its moment). */
export async function fetchThumbnail(channelId, at, { reason, ...options } = {}) {
  const query = queryWithReason({ at: new Date(at).toISOString() }, reason);
  const response = await request('GET', `/channels/${channelId}/thumbnails${query}`, options);
  const moment = response.headers.get('X-Thumbnail-At');
  return { blob: await response.blob(), at: moment ? Date.parse(moment) : Number(new Date(at)) };
}

/**
 * `POST /channels/{id}/playback` with {start, speed}: a session playing the platform's recording from `start`,
 * {session_id, ws_url, hls_url, start, speed, expires_at}; 404 when nothing is recorded at or after `start`.
 */
export const startPlayback = (channelId, start, speed, { reason, ...options } = {}) =>
  postJson(`/channels/${channelId}/playback${queryWithReason({}, reason)}`,
    { start: new Date(start).toISOString(), speed }, options);

/** `DELETE /playback/{session_id}`: end a playback session. */
export async function stopPlayback(sessionId) {
  await request('DELETE', `/playback/${encodeURIComponent(sessionId)}`);
}

/** `POST /channels/{id}/ptz` with a PtzRequest body: {action: 'move', pan, tilt, zoom, speed, zoom_speed} etc. */
export const sendPtz = (channelId, command) => postJson(`/channels/${channelId}/ptz`, command);

/** `GET /channels/{id}/snapshot`: the current picture as a JPEG Blob. */
export async function fetchSnapshot(channelId, { reason, ...options } = {}) {
  const response = await request('GET', `/channels/${channelId}/snapshot${queryWithReason({}, reason)}`, options);
  return response.blob();
}
