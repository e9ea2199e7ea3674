// The share-request endpoints (`/share-requests`, docs/access.md) and what the Sharing view reads beside
// them: departments (names for IDs) and the channels the caller may see.

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

/** Channels the caller may see whose name contains `text` (the API filters by the caller's grants). */
export async function searchChannels(text, limit, options) {
  const query = new URLSearchParams({ name: text, limit: String(limit) });
  return (await json(await request('GET', `/channels?${query}`, options))).items;
}
