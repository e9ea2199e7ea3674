// Video over a WebSocket into Media Source Extensions: an fMP4 init segment and one moof+mdat fragment per
// frame (binary); JSON text messages around them. Live view sends a JSON `init` (the MIME type) first,
// `stats` about every second and `end` before the server closes; a recording's playback names its codec only
// in its init segments (read from them) and sends its own messages (handed to `onMessage`). Fragments are
// appended as they come; a `pace` says where to seek and how fast to play (live: within ~0.5 s of the newest
// frame; playback: at its speed) and the already-played buffer is trimmed to ~10 s.

import { codecOfInit, isInitSegment, mp4Mime } from './fmp4-codec.js';
import { LIVE_PACE, liveLag, rangesOf, trimEnd } from './live-edge.js';
import { SourceBufferFeeder } from './source-feeder.js';

const TICK_MS = 250; // how often playback is held to the live edge
const SILENCE_TIMEOUT_MS = 10_000; // not open, or no message at all, for this long: the connection is dead
const SILENT_CLOSE_CODE = 4000; // RFC 6455 §7.4.2: 4000-4999 are for applications
const QUOTA_KEEP_S = 1; // when the browser's buffer is full, keep only this much played video
const POLICY_REPORT_GRACE_MS = 100; // a content-security-policy report follows the media error it causes

/** Whether Media Source Extensions can play `mime` here. */
export function mseSupports(mime) {
  return typeof MediaSource !== 'undefined' && typeof MediaSource.isTypeSupported === 'function'
    && Boolean(mime) && MediaSource.isTypeSupported(mime);
}

/** `url` made absolute against the page, as ws:// or wss:// (wss:// whenever the page is https). */
export function webSocketUrl(url) {
  const resolved = new URL(url, window.location.href);
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  if (window.location.protocol === 'https:' && resolved.protocol === 'ws:') resolved.protocol = 'wss:';
  return resolved.href;
}

export class MsePlayer {
  /**
   * Plays `wsUrl` into `video`, paced by `pace` ({seekTarget(ranges, t), rate(ranges, t, rate), sequence}; live
   * view's unless given). With `openEnd`, an `end` message without a reason goes to `onMessage` (the server
   * keeps the connection open: a recording's material ended, a seek plays on). Handlers: `onState('connecting'|'buffering'|'live')` ('live': the picture moves),
   * `onStats(stats)`, `onEnd(reason)` (the server ended the stream), `onLost(detail)` (the connection closed
   * unexpectedly), `onFailure(step, detail)` (the browser cannot show this stream), and optionally
   * `onMessage(message)` for any other JSON message.
   */
  constructor(video, { wsUrl, mime, pace = LIVE_PACE, openEnd = false }, handlers) {
    this.video = video;
    this.handlers = handlers;
    this.pace = pace;
    this.openEnd = openEnd;
    this.mime = null; // known from the init message, or read from the init segment
    this.announced = false; // the server sent a JSON init message: its MIME type is the one to trust
    this.held = false; // paused by the viewer: not restarted, not given up for silence
    this.restartAt = false; // after reset(): move to the first media appended next
    this.restartAfterBytes = 0;
    this.fallbackMime = mime;
    this.early = []; // binary messages that came before the SourceBuffer existed
    this.feeder = null;
    this.finished = false; // destroyed, ended, lost or failed: no more callbacks
    this.ended = false;
    this.live = false;
    this.lastTime = -1;
    this.receivedBytes = 0;
    this.lastMessageAt = performance.now();
    this.listeners = new AbortController();

    this.mediaSource = new MediaSource();
    this.objectUrl = URL.createObjectURL(this.mediaSource);
    this.mediaSource.addEventListener('sourceopen', () => this.#createBuffer(), { signal: this.listeners.signal });
    video.addEventListener('error', () => this.#videoError(), { signal: this.listeners.signal });
    document.addEventListener('securitypolicyviolation', (e) => this.#policyViolation(e), { signal: this.listeners.signal });
    video.muted = true; // autoplay is allowed for muted video; GB/T 28181 audio is not played here
    video.src = this.objectUrl;

    handlers.onState('connecting');
    this.socket = new WebSocket(webSocketUrl(wsUrl));
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('open', () => {
      this.lastMessageAt = performance.now();
      this.#emit('onState', 'buffering');
    }, { signal: this.listeners.signal });
    this.socket.addEventListener('message', (event) => this.#onMessage(event), { signal: this.listeners.signal });
    this.socket.addEventListener('close', (event) => this.#onClose(event), { signal: this.listeners.signal });
    this.ticker = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Figures measured in the browser, for the statistics overlay. */
  playerStats() {
    const ranges = rangesOf(this.video.buffered);
    const quality = this.video.getVideoPlaybackQuality?.();
    return {
      latency_s: liveLag(ranges, this.video.currentTime),
      buffered_s: ranges.length ? ranges[ranges.length - 1].end - ranges[0].start : 0,
      dropped_frames: quality ? quality.droppedVideoFrames : null,
      decoded_frames: quality ? quality.totalVideoFrames : null,
      received_bytes: this.receivedBytes,
      video_width: this.video.videoWidth,
      video_height: this.video.videoHeight,
    };
  }

  /** Send a JSON message to the server (dropped when the connection is not open). */
  send(message) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Pause (true) or resume (false) the picture; a paused player is not restarted nor timed out for silence. */
  hold(held) {
    this.held = held;
    if (held) this.video.pause();
    else this.lastMessageAt = performance.now();
    this.#tick();
  }

  /** Drop what is buffered and queued: the server starts over (a seek), with an init segment next. */
  reset() {
    this.feeder?.reset();
    this.early = [];
    this.restartAt = true;
    this.restartAfterBytes = this.feeder?.appendedBytes ?? 0;
    this.live = false;
    this.lastTime = -1;
  }

  /** Stop: close the connection, release the MediaSource, blank the video element. */
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.finished = true;
    clearInterval(this.ticker);
    this.listeners.abort();
    this.feeder?.close();
    if (this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN) {
      this.socket.close(1000, 'viewer closed the tile');
    }
    if (this.mediaSource.readyState === 'open') {
      try {
        this.mediaSource.endOfStream();
      } catch {
        // already ending: nothing to release
      }
    }
    this.video.removeAttribute('src');
    this.video.load();
    URL.revokeObjectURL(this.objectUrl);
  }

  #emit(name, ...args) {
    if (!this.finished) this.handlers[name]?.(...args);
  }

  #finish(name, ...args) {
    if (this.finished) return;
    this.handlers[name](...args);
    this.finished = true;
  }

  #onMessage(event) {
    this.lastMessageAt = performance.now();
    if (typeof event.data === 'string') {
      this.#onText(event.data);
      return;
    }
    this.receivedBytes += event.data.byteLength;
    if (!this.announced && isInitSegment(event.data) && !this.#readCodec(event.data)) return;
    if (this.feeder) this.feeder.append(event.data);
    else this.early.push(event.data);
  }

  #onText(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return; // not ours to understand
    }
    switch (message.type) {
      case 'init': this.#onInit(message); break;
      case 'stats': this.#emit('onStats', message); break;
      case 'end':
        if (this.openEnd && !message.reason) {
          this.#emit('onMessage', message);
          break;
        }
        this.ended = true;
        this.#finish('onEnd', message.reason || 'the stream ended');
        break;
      default: this.#emit('onMessage', message); break;
    }
  }

  /** An init segment of a stream that announced no MIME type: its codec sets (or changes) the SourceBuffer's. */
  #readCodec(buffer) {
    const codec = codecOfInit(buffer);
    const mime = codec ? mp4Mime(codec) : this.fallbackMime;
    if (!mime) {
      this.#finish('onFailure', 'codec', 'the stream has no H.264 or H.265 video track the browser could read');
      return false;
    }
    this.#onInit({ mime, codec: codec ?? '' }, false);
    return !this.finished;
  }

  #onInit(init, announced = true) {
    if (announced) this.announced = true;
    const mime = init.mime || this.fallbackMime;
    if (!mseSupports(mime)) {
      this.#finish('onFailure', 'codec', `codec not playable in this browser: ${init.codec || ''} (${mime})`.trim());
      return;
    }
    if (this.mime === null) {
      this.mime = mime;
      this.#createBuffer();
    } else if (mime !== this.mime) {
      this.mime = mime;
      this.feeder?.changeType(mime);
    }
  }

  #createBuffer() {
    if (this.feeder || this.finished || this.mime === null || this.mediaSource.readyState !== 'open') return;
    let sourceBuffer;
    try {
      sourceBuffer = this.mediaSource.addSourceBuffer(this.mime);
      sourceBuffer.mode = 'segments';
    } catch (error) {
      this.#finish('onFailure', 'codec', `codec not playable in this browser: ${this.mime} (${error.message})`);
      return;
    }
    if (this.pace.sequence) sourceBuffer.mode = 'sequence';
    this.feeder = new SourceBufferFeeder(sourceBuffer, {
      onIdle: () => this.#tick(),
      onQuotaExceeded: () => this.video.currentTime - QUOTA_KEEP_S,
      onError: (error) => this.#finish('onFailure', 'decode', `the browser refused the video data: ${error.message}`),
    });
    for (const buffer of this.early) this.feeder.append(buffer);
    this.early = [];
  }

  #tick() {
    if (this.finished) return;
    const video = this.video;
    const ranges = rangesOf(video.buffered);
    // Removal runs before any later append, so once one has been made the buffer holds only new media.
    if (this.restartAt && ranges.length && (this.feeder?.appendedBytes ?? 0) > this.restartAfterBytes) {
      this.restartAt = false;
      video.currentTime = ranges[0].start;
    }
    const target = this.pace.seekTarget(ranges, video.currentTime);
    if (target !== null && !video.seeking) video.currentTime = target;
    const rate = this.pace.rate(ranges, video.currentTime, video.playbackRate);
    if (rate !== video.playbackRate) video.playbackRate = rate;
    if (ranges.length && video.paused && !video.seeking && !this.held) {
      video.play().catch(() => {}); // a pause from a later seek or destroy is not an error
    }
    const trim = trimEnd(ranges, video.currentTime);
    if (trim !== null) this.feeder?.removeBefore(trim);
    if (!this.live && video.currentTime > this.lastTime && this.lastTime >= 0 && ranges.length) {
      this.live = true;
      this.#emit('onState', 'live');
    }
    this.lastTime = video.currentTime;
    const state = this.socket.readyState;
    if ((state === WebSocket.CONNECTING || state === WebSocket.OPEN) && !this.held
        && performance.now() - this.lastMessageAt > SILENCE_TIMEOUT_MS) {
      const what = state === WebSocket.CONNECTING ? 'the stream connection did not open' : 'no data from the platform';
      this.#finish('onLost', `${what} for ${SILENCE_TIMEOUT_MS / 1000} s`);
      this.socket.close(SILENT_CLOSE_CODE, 'silent');
    }
  }

  #onClose(event) {
    if (this.ended) return;
    const reason = event.reason ? `: ${event.reason}` : '';
    this.#finish('onLost', `the connection closed (code ${event.code}${reason})`);
  }

  #videoError() {
    const error = this.video.error;
    if (!error || this.finished) return;
    const detail = `the browser could not decode the video: ${error.message || `error ${error.code}`}`;
    // A refused blob: URL fails the element too; let the policy violation, reported just after, say why.
    setTimeout(() => this.#finish('onFailure', 'decode', detail), POLICY_REPORT_GRACE_MS);
  }

  #policyViolation(event) {
    if (event.effectiveDirective !== 'media-src' || !String(event.blockedURI).startsWith('blob')) return;
    this.#finish('onFailure', 'policy', "the page's content security policy refuses MSE video (blob: URLs); "
      + "the platform must send media-src 'self' blob:");
  }
}
