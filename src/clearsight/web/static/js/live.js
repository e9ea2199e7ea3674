// One tile's live view of one channel: ask the platform for the stream (`POST /channels/{id}/live`), play
// it over MSE, fall back to HLS where MSE cannot play the codec, and reconnect once when the connection
// drops unexpectedly (re-POSTing, which also renews the stream token). A restricted channel's stated reason
// is asked for and sent along (reason.js).

import { startLive } from './api.js';
import { failure } from './failures.js';
import { MsePlayer, mseSupports } from './player.js';
import { requestStream } from './reason.js';

const HLS_MIME = 'application/vnd.apple.mpegurl';
const HEALTHY_AFTER_MS = 10_000; // a stream that played this long has earned another reconnect
const RECONNECTS = 1;

export class LiveSession {
  /**
   * Handlers: `onState(state, note)` with requesting, connecting, buffering, live or reconnecting (and an
   * optional note saying more); `onStats(stats)`, `onFailure(failure)`, `onEnded(reason)`. `label` names the
   * channel in the reason prompt.
   */
  constructor(channelId, video, handlers, label = `channel ${channelId}`) {
    this.channelId = channelId;
    this.label = label;
    this.video = video;
    this.handlers = handlers;
    this.stopped = false;
    this.reconnectsLeft = RECONNECTS;
    this.player = null;
    this.info = null;
    this.liveSince = null;
    this.hlsListeners = null;
    this.request = null;
  }

  start() {
    this.#open(false);
  }

  stop() {
    this.stopped = true;
    this.request?.abort();
    this.#release();
  }

  /** Browser-side figures of the running player, or null. */
  playerStats() {
    return this.player?.playerStats() ?? null;
  }

  async #open(reconnecting) {
    this.handlers.onState(reconnecting ? 'reconnecting' : 'requesting');
    // Closing the tile while the platform sets the stream up aborts the request.
    const info = await requestStream(this, (options) => startLive(this.channelId, options));
    if (info === null || this.stopped) return;
    this.info = info;
    if (mseSupports(info.mime)) {
      this.#playMse(info);
      return;
    }
    const unplayable = `codec not playable in this browser: ${info.codec} (${info.mime})`;
    if (this.video.canPlayType(HLS_MIME)) this.#playHls(info, unplayable);
    else this.handlers.onFailure(failure('codec', `${unplayable}; and it has no HLS player to fall back to`));
  }

  #playMse(info) {
    this.player = new MsePlayer(this.video, { wsUrl: info.ws_url, mime: info.mime }, {
      onState: (state) => {
        if (state === 'live') this.liveSince = performance.now();
        this.handlers.onState(state);
      },
      onStats: (stats) => this.handlers.onStats(stats),
      onEnd: (reason) => {
        this.#release();
        this.handlers.onEnded(reason);
      },
      onLost: (detail) => this.#lost(detail),
      onFailure: (step, detail) => {
        this.#release();
        this.handlers.onFailure(failure(step, detail));
      },
    });
  }

  #playHls(info, unplayable) {
    this.hlsListeners = new AbortController();
    const { signal } = this.hlsListeners;
    this.video.addEventListener('playing', () => this.handlers.onState('live'), { signal });
    this.video.addEventListener('error', () => {
      const why = this.video.error?.message || `media error ${this.video.error?.code ?? ''}`.trim();
      this.#release();
      this.handlers.onFailure(failure('codec', `${unplayable}; the HLS fallback failed too: ${why}`));
    }, { signal });
    this.handlers.onState('connecting', `${unplayable} — trying HLS…`);
    this.video.muted = true;
    this.video.src = info.hls_url;
    this.video.play().catch(() => {});
  }

  #lost(detail) {
    const wasHealthy = this.liveSince !== null && performance.now() - this.liveSince >= HEALTHY_AFTER_MS;
    this.#release();
    if (this.stopped) return;
    if (wasHealthy) this.reconnectsLeft = RECONNECTS;
    if (this.reconnectsLeft > 0) {
      this.reconnectsLeft -= 1;
      this.#open(true);
      return;
    }
    this.handlers.onFailure(failure('connection', detail));
  }

  #release() {
    this.player?.destroy();
    this.player = null;
    this.liveSince = null;
    if (this.hlsListeners) {
      this.hlsListeners.abort();
      this.hlsListeners = null;
      this.video.removeAttribute('src');
      this.video.load();
    }
  }
}
