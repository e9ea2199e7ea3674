// Why a tile shows no video: a failure with the step it happened at, a headline and the detail the
// platform (or the browser) gave. Steps come from the live-view API: offline (409), invite, connect,
// no-rtp, wrong-ssrc, payload (and keyframe); the browser adds codec, decode, policy and connection; a
// recording's playback adds recording (nothing recorded there); reason is a restricted channel whose stated
// reason the user declined to give.

const STEP_HEADLINES = {
  offline: 'Device offline',
  invite: 'The device refused the live-view request',
  connect: 'The media connection could not be set up',
  'no-rtp': 'The device sent no video',
  'wrong-ssrc': 'Video arrived with the wrong stream identifier',
  payload: 'The video format was not understood',
  keyframe: 'No key frame arrived to start the picture',
  codec: 'Codec not playable in this browser',
  decode: 'The browser could not decode the video',
  policy: 'The page’s security policy blocks the video',
  connection: 'Connection to the stream lost',
  ended: 'The stream ended',
  request: 'The live view could not be started',
  recording: 'Nothing is recorded from there on',
  reason: 'A reason is required to view this channel',
};

/** {step, headline, detail, meta} for the tile. */
export function failure(step, detail, meta = '') {
  return { step, headline: STEP_HEADLINES[step] ?? STEP_HEADLINES.request, detail: detail || '', meta };
}

/** A failed `POST /channels/{id}/live` (ApiError) as a failure: the problem's step and detail, shown as given. */
export function failureFromApiError(error) {
  const problem = error.problem ?? {};
  const status = error.status ? `HTTP ${error.status}` : '';
  const meta = [status, problem.title].filter(Boolean).join(' · ');
  const detail = problem.detail || error.message;
  if (error.status === 409) return { ...failure(String(problem.step || 'offline'), detail, meta), headline: STEP_HEADLINES.offline };
  if (problem.step) {
    const step = String(problem.step);
    return { ...failure(step, detail, meta), headline: STEP_HEADLINES[step] ?? problem.title ?? STEP_HEADLINES.request };
  }
  return { ...failure('request', detail, meta), headline: problem.title || STEP_HEADLINES.request };
}

/**
 * A stream request's rejection as a failure: a declined reason prompt, else the API's problem; a 404 is the
 * step `notFoundStep` when given (playback: nothing recorded there).
 */
export function streamFailure(error, notFoundStep = null) {
  if (error.name === 'ReasonDeclined') return failure('reason', 'No reason was given, so nothing was started.');
  if (notFoundStep && error.status === 404) {
    return failure(notFoundStep, error.problem?.detail || error.message, 'HTTP 404');
  }
  return failureFromApiError(error);
}
