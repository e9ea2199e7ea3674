// The statistics overlay's rows: the platform's `stats` message and what the browser measures itself.

const CODEC_NAMES = { h264: 'H.264', h265: 'H.265', hevc: 'H.265' };

function codecName(codec) {
  if (!codec) return '—';
  const lower = String(codec).toLowerCase();
  if (CODEC_NAMES[lower]) return CODEC_NAMES[lower];
  if (lower.startsWith('avc1') || lower.startsWith('avc3')) return `H.264 (${codec})`;
  if (lower.startsWith('hvc1') || lower.startsWith('hev1')) return `H.265 (${codec})`;
  return String(codec);
}

export function formatBitrate(kbps) {
  if (!Number.isFinite(kbps)) return '—';
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(2)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const number = (value, digits = 0) => (Number.isFinite(value) ? value.toLocaleString(undefined, {
  minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');

/** [label, value] rows; `server` may be null until the first stats message. */
export function statsRows(server, player) {
  const rows = [];
  if (server) {
    const width = server.width || player?.video_width;
    const height = server.height || player?.video_height;
    rows.push(
      ['Codec', codecName(server.codec)],
      ['Resolution', width && height ? `${width}×${height}` : '—'],
      ['Frame rate', `${number(server.fps, 1)} fps`],
      ['Bitrate', formatBitrate(server.bitrate_kbps)],
      ['Packet loss', `${number((server.loss_rate ?? 0) * 100, 2)} % (${number(server.lost)} of ${number(server.packets + server.lost)})`],
      ['Jitter', `${number(server.jitter_ms, 1)} ms`],
      ['Transport', server.transport ? String(server.transport).toUpperCase() : '—'],
      ['Viewers', number(server.viewers)],
      ['Uptime', formatDuration(server.uptime_s)],
    );
  }
  if (player) {
    rows.push(['Latency', `${number(player.latency_s, 2)} s behind live`]);
    if (player.dropped_frames !== null) rows.push(['Dropped', `${number(player.dropped_frames)} of ${number(player.decoded_frames)} frames`]);
  }
  return rows;
}
