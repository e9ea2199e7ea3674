// Entry point: the login screen or the console, and back to the login screen on any 401 or sign-out.

import { API_BASE, onUnauthorized } from './api.js';
import { forgetWall } from './grid.js';
import { LoginView } from './login.js';
import { clearToken, token } from './session.js';
import { Workspace } from './workspace.js';

const appView = document.getElementById('app-view');
let workspace = null;

const login = new LoginView(document.getElementById('login-view'), { onSignedIn: openWorkspace });

function openWorkspace() {
  login.hide();
  workspace = new Workspace(appView, { onSignOut: signOut });
  workspace.start();
}

function signOut(notice, forget) {
  workspace?.stop();
  workspace = null;
  const bearer = token();
  // A chosen sign-out ends the server-side session too, so the token is refused even if it was copied;
  // a plain fetch (not api.js) so that its answer cannot call back into the 401 handler.
  if (forget && bearer) {
    fetch(`${API_BASE}/auth/logout`, { method: 'POST', keepalive: true,
      headers: { Authorization: `Bearer ${bearer}` } }).catch(() => {});
  }
  clearToken();
  if (forget) forgetWall();
  login.show(notice);
}

onUnauthorized((problem) => {
  if (!workspace) return;
  const why = problem?.detail ? ` (${problem.detail})` : '';
  signOut(`Your session has ended${why}; sign in again.`, false);
});

if (token()) openWorkspace();
else login.show();
