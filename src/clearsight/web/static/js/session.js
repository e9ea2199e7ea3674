// The signed-in session: the bearer token lives in sessionStorage, so it ends with the browser tab.

const TOKEN_KEY = 'clearsight.access_token';
const EXPIRES_KEY = 'clearsight.expires_at'; // epoch milliseconds
const EXPIRY_MARGIN_MS = 5_000; // treat a token as gone a little before the server would

/** Keep the token from `POST /auth/token` (`expires_in` is in seconds). */
export function saveToken(accessToken, expiresInSeconds) {
  sessionStorage.setItem(TOKEN_KEY, accessToken);
  sessionStorage.setItem(EXPIRES_KEY, String(Date.now() + expiresInSeconds * 1000));
}

/** The bearer token, or null when there is none or it has expired. */
export function token() {
  const value = sessionStorage.getItem(TOKEN_KEY);
  if (!value) return null;
  if (msUntilExpiry() <= 0) {
    clearToken();
    return null;
  }
  return value;
}

/** Milliseconds left until the token expires (less the margin); 0 without a token. */
export function msUntilExpiry() {
  const expiresAt = Number(sessionStorage.getItem(EXPIRES_KEY));
  if (!sessionStorage.getItem(TOKEN_KEY) || !Number.isFinite(expiresAt)) return 0;
  return Math.max(0, expiresAt - EXPIRY_MARGIN_MS - Date.now());
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EXPIRES_KEY);
}

/** Who is signed in, read from the token's claims (display only: the server checks the token). */
export function currentUser() {
  const value = sessionStorage.getItem(TOKEN_KEY);
  if (!value) return null;
  try {
    const payload = value.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return { username: String(claims.preferred_username ?? claims.sub ?? ''), role: String(claims.role ?? '') };
  } catch {
    return { username: '', role: '' };
  }
}
