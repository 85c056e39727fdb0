// The sign-in view, first-run setup, and the return to the app (?rd=).

import { adopt, broadcast, call, describe, withLock } from '/static/api.js';
import { $, banner, busy, error, fieldErrors } from '/static/dom.js';

let setupToken = '';
/** What app.js does once signed in, and how it switches views. */
let ctx = { enter: () => {}, show: () => {} };

/** Where to send the browser once signed in: the page's `?rd=`, if the
 *  server says it is a site latch signs in for. */
let returnTo = null;
/** Why a given `rd` is not followed, said on the page. */
let returnNote = '';

export async function checkReturn() {
  const rd = new URLSearchParams(location.search).get('rd');
  if (rd === null) return;
  try {
    const res = await call('/api/authz/redirect?rd=' + encodeURIComponent(rd), { method: 'GET' });
    const url = res.ok && res.data ? res.data.rd : null;
    // The server decided; the scheme check only keeps a bug there from
    // ever becoming a script URL here.
    if (typeof url === 'string' && /^https?:\/\//i.test(url)) {
      returnTo = url;
      return;
    }
    returnNote = `Not returning to ${rd}: ${describe(res)}`;
  } catch (e) {
    returnNote = `Not returning to ${rd}: ${describe(e)}`;
  }
  banner(returnNote);
}

/** Back to the app the browser came from, if any; true when leaving. */
export function goBack() {
  if (!returnTo) return false;
  location.replace(returnTo);
  return true;
}

async function onLogin(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!username || !password) return error('login-error', 'Enter your username and password.');
  error('login-error', '');
  busy(form, true);
  try {
    const res = await withLock(() => call('/api/session/login', { body: { username, password } }));
    if (!res.ok) return error('login-error', describe(res));
    $('login-password').value = '';
    adopt(res.data);
    broadcast({ type: 'session', data: res.data });
    if (goBack()) return;
    banner(returnNote);
    ctx.enter();
  } catch (e) {
    error('login-error', describe(e));
  } finally {
    busy(form, false);
  }
}

async function onSetup(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const username = $('setup-username').value.trim();
  const password = $('setup-password').value;
  const fields = { username: 'setup-username-error', password: 'setup-password-error' };
  fieldErrors(null, fields);
  if (!setupToken) return error('setup-error', 'This link has no setup token. Use the link printed in the server console.');
  if (!username || !password) return error('setup-error', 'Choose a username and a password.');
  if (password !== $('setup-confirm').value) return error('setup-error', 'The two passwords differ.');
  error('setup-error', '');
  busy(form, true);
  try {
    const res = await call('/api/setup', { body: { token: setupToken, username, password } });
    if (res.status === 400 && fieldErrors(res, fields)) {
      return error('setup-error', 'Please correct the fields below.');
    }
    if (!res.ok) return error('setup-error', describe(res));
    setupToken = '';
    history.replaceState(null, '', '/');
    const login = await withLock(() => call('/api/session/login', { body: { username, password } }));
    form.reset();
    if (!login.ok) {
      ctx.show('login-view');
      return error('login-error', `Account created, but signing in failed: ${describe(login)}`);
    }
    adopt(login.data);
    broadcast({ type: 'session', data: login.data });
    banner(`Account ${login.data.username} created. You are signed in.`);
    ctx.enter();
  } catch (e) {
    error('setup-error', describe(e));
  } finally {
    busy(form, false);
  }
}

/** Takes the first-run token out of the address bar (it is a secret). */
export function startSetup() {
  const query = new URLSearchParams(location.search).get('token');
  setupToken = decodeURIComponent(location.hash.slice(1)) || query || '';
  history.replaceState(null, '', '/setup');
  ctx.show('setup-view');
  if (!setupToken) error('setup-error', 'This link has no setup token. Use the link printed in the server console.');
}

export function init(context) {
  ctx = context;
  $('login-form').addEventListener('submit', onLogin);
  $('setup-form').addEventListener('submit', onSetup);
}
