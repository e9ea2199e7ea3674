// Feeding one SourceBuffer: appends, removals and codec changes queued while it is busy (`updating`) and
// run in order; consecutive fragments are joined into one append.

function joined(buffers) {
  if (buffers.length === 1) return buffers[0];
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const buffer of buffers) {
    out.set(new Uint8Array(buffer), at);
    at += buffer.byteLength;
  }
  return out.buffer;
}

export class SourceBufferFeeder {
  /**
   * `onIdle()` runs whenever the queue has drained. `onQuotaExceeded()` answers how far (seconds) old
   * media may be removed when the browser's buffer is full. `onError(error)` reports data the browser
   * refused (the stream cannot be shown).
   */
  constructor(sourceBuffer, { onIdle, onQuotaExceeded, onError }) {
    this.sourceBuffer = sourceBuffer;
    this.onIdle = onIdle;
    this.onQuotaExceeded = onQuotaExceeded;
    this.onError = onError;
    this.queue = []; // ArrayBuffer to append, or {mime} to switch codec
    this.removeUntil = null;
    this.quotaRetry = false; // a full buffer was met and room is being made
    this.quotaRetryPending = false;
    this.closed = false;
    this.appendedBytes = 0;
    this.listener = () => this.#pump();
    sourceBuffer.addEventListener('updateend', this.listener);
  }

  append(buffer) {
    this.queue.push(buffer);
    this.#pump();
  }

  /** Remove buffered media before `end` seconds (done before the next append). */
  removeBefore(end) {
    this.removeUntil = Math.max(this.removeUntil ?? 0, end);
    this.#pump();
  }

  /** Drop everything queued and buffered (done before the next append): the stream starts over. */
  reset() {
    this.queue = [];
    this.removeUntil = Infinity;
    this.#pump();
  }

  /** Switch codec before the data queued after this call (a new init segment follows). */
  changeType(mime) {
    this.queue.push({ mime });
    this.#pump();
  }

  close() {
    this.closed = true;
    this.queue = [];
    this.sourceBuffer.removeEventListener('updateend', this.listener);
  }

  #pump() {
    while (!this.closed && !this.sourceBuffer.updating) {
      if (this.#startRemoval()) return;
      if (this.queue.length === 0) {
        this.onIdle();
        return;
      }
      if (!(this.queue[0] instanceof ArrayBuffer)) {
        const { mime } = this.queue.shift();
        if (!this.#run(() => this.sourceBuffer.changeType(mime))) return;
        continue; // changeType is synchronous
      }
      let count = 0;
      while (count < this.queue.length && this.queue[count] instanceof ArrayBuffer) count++;
      const chunk = joined(this.queue.splice(0, count));
      if (this.#run(() => this.sourceBuffer.appendBuffer(chunk))) {
        this.appendedBytes += chunk.byteLength;
        this.quotaRetry = false;
        return; // updateend continues
      }
      if (!this.quotaRetryPending) return;
      this.quotaRetryPending = false;
      this.queue.unshift(chunk);
    }
  }

  #startRemoval() {
    if (this.removeUntil === null) return false;
    const buffered = this.sourceBuffer.buffered;
    const requested = this.removeUntil;
    this.removeUntil = null;
    if (buffered.length === 0 || requested <= buffered.start(0)) return false;
    const end = Math.min(requested, buffered.end(buffered.length - 1));
    return this.#run(() => this.sourceBuffer.remove(buffered.start(0), end));
  }

  /** Run a SourceBuffer call; false when it threw (reported, or a quota retry arranged). */
  #run(call) {
    try {
      call();
      return true;
    } catch (error) {
      if (error.name === 'QuotaExceededError' && !this.quotaRetry) {
        this.quotaRetry = true; // one retry after making room; a second failure is an error
        this.quotaRetryPending = true;
        this.removeUntil = this.onQuotaExceeded();
        return false;
      }
      this.closed = true;
      this.onError(error.name === 'QuotaExceededError' ? new Error('the browser ran out of video buffer') : error);
      return false;
    }
  }
}
