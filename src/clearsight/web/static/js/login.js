// The sign-in screen: user name and password to `POST /auth/token`; the platform's reason on failure.

import { signIn } from './api.js';
import { clear, h } from './dom.js';
import { brandMark } from './icons.js';
import { saveToken } from './session.js';

export class LoginView {
  constructor(root, { onSignedIn }) {
    this.root = root;
    this.onSignedIn = onSignedIn;
    this.username = h('input', { class: 'input', name: 'username', id: 'login-username', autocomplete: 'username',
      required: true, autocapitalize: 'off', spellcheck: 'false' });
    this.password = h('input', { class: 'input', name: 'password', id: 'login-password', type: 'password',
      autocomplete: 'current-password', required: true });
    this.message = h('div', { class: 'notice', role: 'alert', hidden: true });
    this.submit = h('button', { class: 'button button--primary login__submit', type: 'submit', text: 'Sign in' });
    this.form = h('form', { class: 'login__card', novalidate: true, onsubmit: (e) => this.#submit(e) },
      h('div', { class: 'login__brand' }, brandMark(),
        h('div', {}, h('h1', { class: 'login__title', text: 'Clearsight' }),
          h('div', { class: 'login__subtitle', text: 'Video platform · operator console' }))),
      this.message,
      h('label', { class: 'field', for: 'login-username' }, h('span', { class: 'field__label', text: 'User name' }), this.username),
      h('label', { class: 'field', for: 'login-password' }, h('span', { class: 'field__label', text: 'Password' }), this.password),
      this.submit,
      h('div', { class: 'login__footer', text: 'Every access is recorded.' }));
    clear(root).append(this.form);
  }

  /** Show the screen, with an optional notice (why the session ended). */
  show(notice = '') {
    this.root.hidden = false;
    this.password.value = '';
    this.#say(notice, 'info');
    (this.username.value ? this.password : this.username).focus();
  }

  hide() {
    this.root.hidden = true;
  }

  #say(text, kind) {
    this.message.hidden = !text;
    this.message.textContent = text;
    this.message.className = `notice notice--${kind}`;
  }

  async #submit(event) {
    event.preventDefault();
    const username = this.username.value.trim();
    const password = this.password.value;
    if (!username || !password) {
      this.#say('Enter your user name and password.', 'error');
      return;
    }
    this.submit.disabled = true;
    this.submit.textContent = 'Signing in…';
    try {
      const answer = await signIn(username, password);
      saveToken(answer.access_token, answer.expires_in);
      this.password.value = '';
      this.#say('', 'info');
      this.onSignedIn();
    } catch (error) {
      this.#say(error.detail || error.title || error.message, 'error');
      this.password.select();
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = 'Sign in';
    }
  }
}
