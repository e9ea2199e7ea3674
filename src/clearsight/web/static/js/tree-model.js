// The tree's model, built from API data: regions (GB/T 2260 codes) → devices → channels, with online counts,
// and its filtered form for a search. Pure functions; tree.js draws the result.

const LEVEL_DIGITS = 2; // GB/T 2260: each level of a region code adds two digits
const CIVIL_CODE_DIGITS = 8; // province, city, county, grass-roots unit
const SHORT_CODE_LENGTHS = [2, 4, 6];
const UNSET_LEVEL = '00';

export const UNASSIGNED_KEY = 'region:-';

/**
 * The region-tree node a channel's civil code belongs to ("34020000" → "3402"), or null when the code
 * names none. The same rule as the platform's `region_path`.
 */
export function regionCodeOf(civilCode) {
  if (!civilCode) return null;
  let code = String(civilCode).trim();
  if (!/^[0-9]+$/.test(code)) return null;
  if (!SHORT_CODE_LENGTHS.includes(code.length) && code.length < CIVIL_CODE_DIGITS) return null;
  code = code.slice(0, CIVIL_CODE_DIGITS);
  if (code.slice(0, LEVEL_DIGITS) === UNSET_LEVEL) return null;
  let depth = code.length;
  while (code.slice(depth - LEVEL_DIGITS, depth) === UNSET_LEVEL) depth -= LEVEL_DIGITS;
  return code.slice(0, depth);
}

/** A channel is watchable when its catalog says ON and its device is registered. */
export function channelOnline(channel, device) {
  return Boolean(channel.online) && (device ? Boolean(device.online) : true);
}

export function channelLabel(channel) {
  return channel.name || channel.gb_id;
}

export function deviceLabel(device) {
  return device.name || device.id;
}

const byText = (a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });

function regionNode(region) {
  return {
    kind: 'region', key: `region:${region.code}`, code: region.code, name: region.name, level: region.level,
    regions: (region.children || []).map(regionNode), devices: [], total: 0, online: 0,
  };
}

function deviceNode(regionKey, device) {
  return { kind: 'device', key: `device:${regionKey}:${device.id}`, device, channels: [], total: 0, online: 0 };
}

/** Count channels (and online ones) bottom-up; returns the node. */
function count(node) {
  if (node.kind === 'device') {
    node.total = node.channels.length;
    node.online = node.channels.filter((c) => channelOnline(c, node.device)).length;
    return node;
  }
  node.total = 0;
  node.online = 0;
  for (const child of [...node.regions, ...node.devices]) {
    count(child);
    node.total += child.total;
    node.online += child.online;
  }
  return node;
}

function hasDevices(node) {
  return node.devices.length > 0 || node.regions.some(hasDevices);
}

function prune(nodes) {
  return nodes.filter(hasDevices).map((node) => ({ ...node, regions: prune(node.regions) }));
}

function sortNode(node) {
  node.devices.sort((a, b) => byText(deviceLabel(a.device), deviceLabel(b.device)));
  for (const device of node.devices) device.channels.sort((a, b) => byText(channelLabel(a), channelLabel(b)));
  node.regions.forEach(sortNode);
}

/**
 * Region nodes (each with `regions`, `devices`), device nodes (with `channels`), from
 * `{regions, devices, channels}` as the API lists them. Channels whose civil code is in no known region,
 * and devices with no channels yet, go under a last "Unassigned" node. Empty regions are left out.
 */
export function buildTree({ regions, devices, channels }) {
  const byCode = new Map();
  const index = (node) => {
    byCode.set(node.code, node);
    node.regions.forEach(index);
  };
  const roots = regions.map(regionNode);
  roots.forEach(index);
  const unassigned = { kind: 'region', key: UNASSIGNED_KEY, code: '', name: 'Unassigned', level: 'none',
    regions: [], devices: [], total: 0, online: 0 };
  const devicesById = new Map(devices.map((d) => [d.id, d]));
  const regionOf = (channel) => {
    for (let code = regionCodeOf(channel.civil_code); code; code = code.slice(0, -LEVEL_DIGITS)) {
      const node = byCode.get(code);
      if (node) return node;
    }
    return unassigned;
  };
  const deviceNodes = new Map();
  for (const channel of channels) {
    const region = regionOf(channel);
    const key = `${region.key}|${channel.device_id}`;
    let node = deviceNodes.get(key);
    if (!node) {
      const device = devicesById.get(channel.device_id) ?? { id: channel.device_id, name: null, online: false };
      node = deviceNode(region.code || '-', device);
      deviceNodes.set(key, node);
      region.devices.push(node);
    }
    node.channels.push(channel);
  }
  const withChannels = new Set(channels.map((c) => c.device_id));
  for (const device of devices) {
    if (!withChannels.has(device.id)) unassigned.devices.push(deviceNode('-', device));
  }
  const tree = prune([...roots, unassigned]);
  tree.forEach((node) => {
    sortNode(node);
    count(node);
  });
  return tree;
}

/**
 * The tree cut down to what matches `query` (case-insensitive, in names and GB IDs): a matching region or
 * device keeps everything under it, otherwise only matching channels stay. Counts are recomputed.
 */
export function filterTree(tree, query) {
  const needle = query.trim().toLowerCase();
  if (!needle) return tree;
  const hit = (...texts) => texts.some((text) => text && String(text).toLowerCase().includes(needle));
  const filterDevice = (node) => {
    if (hit(node.device.name, node.device.id)) return node;
    const channels = node.channels.filter((c) => hit(c.name, c.gb_id));
    return channels.length ? count({ ...node, channels }) : null;
  };
  const filterRegion = (node) => {
    if (node.kind === 'region' && node.key !== UNASSIGNED_KEY && hit(node.name, node.code)) return node;
    const regions = node.regions.map(filterRegion).filter(Boolean);
    const devices = node.devices.map(filterDevice).filter(Boolean);
    return regions.length || devices.length ? count({ ...node, regions, devices }) : null;
  };
  return tree.map(filterRegion).filter(Boolean);
}

/** Every key in the tree (regions and devices), for "expand all". */
export function branchKeys(tree) {
  const keys = [];
  const walk = (node) => {
    keys.push(node.key);
    if (node.kind === 'region') [...node.regions, ...node.devices].forEach(walk);
  };
  tree.forEach(walk);
  return keys;
}

/** A string that changes whenever what the tree shows (not its online state) changes. */
export function treeShape(tree) {
  const parts = [];
  const walk = (node) => {
    if (node.kind === 'device') {
      parts.push(node.key, deviceLabel(node.device));
      for (const c of node.channels) parts.push(c.id, channelLabel(c), c.ptz_type ?? '');
      return;
    }
    parts.push(node.key, node.name);
    [...node.regions, ...node.devices].forEach(walk);
  };
  tree.forEach(walk);
  return parts.join('\u0000');
}
