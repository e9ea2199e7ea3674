// One tile's playback of the platform's recording of a channel: `POST /channels/{id}/playback` {start, speed}
// opens a session, its WebSocket carries fMP4 on the session's own media timeline (played by `MsePlayer` at
// rate 1: the platform divides durations by the speed) and JSON: `position` {time, speed} about every second
// (the recorded instant shown), `gap` {from, to} (skipped; said when sent), `seeked` {time} before a fresh init segment,
// `end` (the material ended, the socket stays open; with a `reason` the stream is over), `live` {time} (playback
// faster than 1× caught up with the recording being written: the tile goes to live view), `error` {message} (a
// refused control or a skipped segment: playback goes on).
// The viewer's seek, speed, pause and resume go back over the same socket; stopping deletes the session. A
// restricted channel's stated reason is asked for and sent along (reason.js). See docs/recording.md, Playback.

import { startPlayback, stopPlayback } from './api.js';
import { failure } from './failures.js';
import { PLAYBACK_PACE } from './playback-pace.js';
import { MsePlayer } from './player.js';
import { requestStream } from './reason.js';

export const SPEEDS = [1, 2, 4, 8]; // what the platform plays at

export class PlaybackSession {
  /**
   * Handlers: `onState(state)` with requesting, connecting, buffering, playback, paused or at-end (the
   * recording ran out; a seek plays on); `onPosition(ms,
   * speed)` (the recorded instant being shown, epoch ms); `onGap(fromMs, toMs)`; `onNotice(text)` (the
   * platform's error message; playback goes on); `onLive()` (caught up with the recording: the session is over,
   * show live view); `onFailure(failure)`; `onEnded(reason)`. `label` names the channel in the reason prompt.
   */
  constructor(channelId, video, handlers, label = `channel ${channelId}`) {
    this.channelId = channelId;
    this.video = video;
    this.handlers = handlers;
    this.label = label;
    this.player = null;
    this.sessionId = null;
    this.request = null;
    this.stopped = false;
    this.paused = false;
    this.atEnd = false;
    this.speed = 1;
    this.position = null;
  }

  /** Play from `startMs` (epoch ms) at `speed`. */
  async start(startMs, speed = 1) {
    this.speed = speed;
    this.#setPosition(startMs);
    this.handlers.onState('requesting');
    const info = await requestStream(this, (options) => startPlayback(this.channelId, startMs, speed, options),
      'recording');
    if (info === null) return;
    this.sessionId = info.session_id;
    if (this.stopped) {
      this.#deleteSession();
      return;
    }
    if (info.start) this.#setPosition(Date.parse(info.start));
    const source = { wsUrl: info.ws_url, mime: info.mime ?? null, pace: PLAYBACK_PACE, openEnd: true };
    this.player = new MsePlayer(this.video, source, {
      onState: (state) => this.handlers.onState(state === 'live' ? this.#playingState() : state),
      onStats: () => {},
      onMessage: (message) => this.#onMessage(message),
      onEnd: () => this.#finish(() => this.handlers.onEnded('the recording ended')),
      onLost: (detail) => this.#finish(() => this.handlers.onFailure(failure('connection', detail))),
      onFailure: (step, detail) => this.#finish(() => this.handlers.onFailure(failure(step, detail))),
    });
  }

  /** Show the recording from `ms` on (within the running session). */
  seek(ms) {
    if (!this.player) return;
    this.player.send({ type: 'seek', time: new Date(ms).toISOString() });
    if (this.atEnd) {
      this.atEnd = false;
      this.player.hold(this.paused);
    }
    this.#setPosition(ms);
  }

  setSpeed(speed) {
    if (!SPEEDS.includes(speed)) throw new Error(`no playback speed ${speed}`);
    this.speed = speed;
    if (!this.player) return;
    this.player.send({ type: 'speed', speed });
    this.#setPosition(this.position);
  }

  pause() {
    this.#hold(true);
  }

  resume() {
    this.#hold(false);
  }

  /** End the session (closing the socket and deleting it on the platform). */
  stop() {
    this.stopped = true;
    this.request?.abort();
    this.#release();
    this.#deleteSession();
  }

  /** Browser-side figures of the running player, or null. */
  playerStats() {
    return this.player?.playerStats() ?? null;
  }

  #hold(paused) {
    if (!this.player || this.paused === paused) return;
    this.paused = paused;
    this.player.send({ type: paused ? 'pause' : 'resume' });
    if (!this.atEnd) this.player.hold(paused);
    this.handlers.onState(this.#playingState());
  }

  #playingState() {
    if (this.atEnd) return 'at-end';
    return this.paused ? 'paused' : 'playback';
  }

  #onMessage(message) {
    const at = (value) => Date.parse(value);
    switch (message.type) {
      case 'position':
        if (Number.isFinite(at(message.time))) this.#setPosition(at(message.time), message.speed);
        break;
      case 'gap':
        if (Number.isFinite(at(message.from))) this.handlers.onGap(at(message.from), at(message.to));
        break;
      case 'end': // the recorded material ran out: nothing more comes until a seek
        this.atEnd = true;
        this.player.hold(true); // neither restarted nor timed out while nothing comes
        this.handlers.onState(this.#playingState());
        break;
      case 'live': // nothing recorded is left to show faster than it happens
        this.#finish(() => this.handlers.onLive());
        break;
      case 'seeked':
        this.player.reset();
        if (Number.isFinite(at(message.time))) this.#setPosition(at(message.time));
        break;
      case 'error':
        this.handlers.onNotice(String(message.message ?? 'the platform reported an error'));
        break;
      default: break; // not ours to understand
    }
  }

  #setPosition(ms, speed = this.speed) {
    if (SPEEDS.includes(speed)) this.speed = speed;
    this.position = ms;
    this.handlers.onPosition(ms, this.speed);
  }

  #finish(report) {
    this.#release();
    this.#deleteSession();
    if (!this.stopped) report();
  }

  #release() {
    this.player?.destroy();
    this.player = null;
  }

  #deleteSession() {
    const sessionId = this.sessionId;
    this.sessionId = null;
    // A session whose delete fails ends by itself at its `expires_at`.
    if (sessionId) stopPlayback(sessionId).catch(() => {});
  }
}
