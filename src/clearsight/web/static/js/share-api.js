// The share-request endpoints (`/share-requests`, docs/access.md) and what the Sharing view reads beside
// them: the signed-in user (`/users/me`), departments (names for IDs) and channels to ask for.

import { request } from './api.js';

const json = async (response) => response.json();

/** `GET /share-requests?direction=…`: newest first; each item tagged with the direction it was read under. */
export async function listShares(direction, options) {
  const items = await json(await request('GET', `/share-requests?direction=${direction}`, options));
  return items.map((item) => ({ ...item, direction }));
}

export const askShare = async (body) => json(await request('POST', '/share-requests', { json: body }));

export const approveShare = async (id, body) => json(await request('POST', `/share-requests/${id}/approve`, { json: body }));

export const rejectShare = async (id, reason) => json(await request('POST', `/share-requests/${id}/reject`, { json: { reason } }));

export const revokeShare = async (id, reason) => json(await request('POST', `/share-requests/${id}/revoke`,
  { json: reason ? { reason } : {} }));

export const listDepartments = async (options) => json(await request('GET', '/departments', options));

/** `GET /users/me`: id, username, role and department ({id, name, home_region_code} or null). */
export const readMe = async (options) => json(await request('GET', '/users/me', options));

/** Other departments' channels whose name contains `text`, to ask for (`GET /share-requests/channels`):
 * {items: [{id, gb_id, name, owner_department_id, owner_department_name, channel_class, region_code}],
 * next_cursor}. Sensitive channels are never listed. */
export async function findShareableChannels(text, limit, options) {
  const query = new URLSearchParams({ name: text, limit: String(limit) });
  return json(await request('GET', `/share-requests/channels?${query}`, options));
}
