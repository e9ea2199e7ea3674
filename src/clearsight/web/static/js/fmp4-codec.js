// The codec of an fMP4 init segment, as the RFC 6381 string MSE wants (`avc1.42c01e`, `hvc1.1.6.L93.B0`), read
// from its sample entry's avcC / hvcC box: a playback stream announces its codec only in its init segments.
// Box layouts: ISO/IEC 14496-12 (boxes, stsd, VisualSampleEntry) and 14496-15 (avcC, hvcC).

const BOX_HEADER = 8; // 32-bit size then a four-character type
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']); // boxes that only hold boxes
const STSD_HEADER = 8; // version, flags, entry count
const VISUAL_SAMPLE_ENTRY = 78; // after the box header: SampleEntry (8) + VisualSampleEntry (70) fields, then boxes
const HEVC_PROFILE_SPACES = ['', 'A', 'B', 'C'];

function* boxes(view, start, end) {
  let at = start;
  while (at + BOX_HEADER <= end) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(view.getUint8(at + 4), view.getUint8(at + 5), view.getUint8(at + 6), view.getUint8(at + 7));
    if (size < BOX_HEADER || at + size > end) return; // damaged or 64-bit sized: nothing more to read
    yield { type, start: at + BOX_HEADER, end: at + size };
    at += size;
  }
}

/** Whether `buffer` (an ArrayBuffer) starts with an init segment (an `ftyp` box). */
export function isInitSegment(buffer) {
  if (buffer.byteLength < BOX_HEADER) return false;
  const view = new DataView(buffer);
  return view.getUint32(4) === 0x66747970; // 'ftyp'
}

function hex(byte) {
  return byte.toString(16).padStart(2, '0');
}

function avcCodec(entry, view, config) {
  return `${entry}.${hex(view.getUint8(config + 1))}${hex(view.getUint8(config + 2))}${hex(view.getUint8(config + 3))}`;
}

function hevcCodec(entry, view, config) {
  const first = view.getUint8(config + 1);
  let compatibility = view.getUint32(config + 2);
  let reversed = 0; // the flags are written in reverse bit order
  for (let bit = 0; bit < 32; bit++) {
    reversed = (reversed << 1) | (compatibility & 1);
    compatibility >>>= 1;
  }
  const constraints = [];
  for (let i = 0; i < 6; i++) constraints.push(view.getUint8(config + 6 + i));
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = view.getUint8(config + 12);
  const parts = [entry, `${HEVC_PROFILE_SPACES[first >> 6]}${first & 0x1f}`, (reversed >>> 0).toString(16),
    `${first & 0x20 ? 'H' : 'L'}${level}`, ...constraints.map((c) => c.toString(16).toUpperCase())];
  return parts.join('.');
}

function sampleEntryCodec(view, entry) {
  for (const child of boxes(view, entry.start + VISUAL_SAMPLE_ENTRY, entry.end)) {
    if (child.type === 'avcC' && child.end - child.start >= 4) return avcCodec(entry.type, view, child.start);
    if (child.type === 'hvcC' && child.end - child.start >= 13) return hevcCodec(entry.type, view, child.start);
  }
  return null;
}

function findCodec(view, start, end) {
  for (const box of boxes(view, start, end)) {
    if (CONTAINERS.has(box.type)) {
      const found = findCodec(view, box.start, box.end);
      if (found) return found;
    } else if (box.type === 'stsd') {
      for (const entry of boxes(view, box.start + STSD_HEADER, box.end)) {
        const found = sampleEntryCodec(view, entry);
        if (found) return found;
      }
    }
  }
  return null;
}

/** The codec string of the init segment in `buffer`, or null when it has no AVC or HEVC video track. */
export function codecOfInit(buffer) {
  return findCodec(new DataView(buffer), 0, buffer.byteLength);
}

/** The MSE MIME type for an fMP4 stream of `codec`. */
export function mp4Mime(codec) {
  return `video/mp4; codecs="${codec}"`;
}
