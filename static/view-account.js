// The account view, for everyone signed in: the session and its token,
// the account's sessions named as people know them, "this wasn't me",
// recent activity from the audit trail, and the password.

import {
  adopt, authed, broadcast, call, decodeClaims, describe, get, session, withLock,
} from '/static/api.js';
import { $, banner, busy, error, eventLabel, fieldErrors, h, stamp } from '/static/dom.js';

let ctx = { signedOut: () => {} };
let clockTimer = 0;
/** The session "this wasn't me" is about. */
let suspect = null;

const now = () => Date.now() / 1000;

/** A server timestamp, locally and relatively ("in 4 minutes"). */
function when(serverSeconds) {
  const local = serverSeconds - (session ? session.skew : 0);
  const minutes = Math.round((local - now()) / 60);
  let relative;
  if (minutes <= 0) relative = 'now';
  else if (minutes < 120) relative = `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  else relative = `in ${Math.round(minutes / 60)} hours`;
  return `${new Date(local * 1000).toLocaleString()} (${relative})`;
}

function renderTimes() {
  if (!session) return;
  $('session-expires').textContent = when(session.sessionExpires);
  $('access-expires').textContent = when(session.accessExpires);
}

/** Shows the current session; called on every new access token. */
export function render() {
  $('account-username').textContent = session.username;
  renderTimes();
  $('access-token').value = session.access;
  const { alg, kid } = decodeClaims(session.access, 0);
  $('claims').textContent = JSON.stringify({ header: { alg, kid }, claims: session.claims }, null, 2);
  $('curl-example').textContent =
    `curl -H "Authorization: Bearer ${session.access}" ${location.origin}/api/me/`;
}

/** The view is shown: keep the times current and load the lists. */
export function shown() {
  clearInterval(clockTimer);
  clockTimer = setInterval(renderTimes, 30000);
  loadSessions();
  loadActivity();
}

export function hidden() {
  clearInterval(clockTimer);
}

/** Everything the view showed of a session that has ended. */
export function clear() {
  clearInterval(clockTimer);
  $('access-token').value = '';
  $('curl-example').textContent = '';
  $('claims').textContent = '';
  $('sessions-list').replaceChildren();
  $('activity-list').replaceChildren();
  $('not-me').hidden = true;
  error('password-prompt', '');
  suspect = null;
}

export async function logOut() {
  try {
    await withLock(() => call('/api/session/logout', { body: {} }));
  } catch (e) {
    banner(`Not logged out: ${describe(e)}`);
    return;
  }
  broadcast({ type: 'logout' });
  banner('');
  ctx.signedOut('You have logged out.');
}

/** Log out everywhere: POST /api/sessions/revoke-all/, then drop our cookie. */
async function logOutEverywhere() {
  try {
    const res = await authed('/api/sessions/revoke-all/', { method: 'POST' });
    if (!session) return;
    if (!res.ok) return banner(describe(res));
    await call('/api/session/logout', { body: {} });
    broadcast({ type: 'logout' });
    ctx.signedOut('You have been logged out on every device.');
  } catch (e) {
    banner(describe(e));
  }
}

/**
 * Change password: POST /api/me/password/. Every session ends with the
 * change, this cookie's too. The answer's pair is for API clients: the
 * page logs its refresh token out at once rather than keep it, and signs
 * in again with the new password for a fresh cookie session.
 */
async function changePassword(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const oldPassword = $('old-password').value;
  const newPassword = $('new-password').value;
  const fields = { old_password: 'old-password-error', new_password: 'new-password-error' };
  fieldErrors(null, fields);
  error('password-done', '');
  if (!oldPassword || !newPassword) return error('password-error', 'Fill in both passwords.');
  error('password-error', '');
  busy(form, true);
  try {
    const username = session.username;
    const res = await authed('/api/me/password/', { body: { old_password: oldPassword, new_password: newPassword } });
    if (!session) return;
    if (res.status === 400 && fieldErrors(res, fields)) return;
    if (!res.ok) return error('password-error', describe(res));
    if (res.data && res.data.refresh) {
      await call('/api/token/blacklist/', { body: { refresh: res.data.refresh } });
    }
    form.reset();
    const login = await withLock(() => call('/api/session/login', { body: { username, password: newPassword } }));
    if (!login.ok) return ctx.signedOut(`Password changed. Sign in again: ${describe(login)}`);
    adopt(login.data);
    broadcast({ type: 'session', data: login.data });
    error('password-prompt', '');
    error('password-done', 'Password changed. Every other session has been logged out.');
    loadSessions();
    loadActivity();
  } catch (e) {
    error('password-error', describe(e));
  } finally {
    busy(form, false);
  }
}

/** The session list: GET /api/sessions/, each revocable with DELETE /api/sessions/<id>/. */
export async function loadSessions() {
  if (!session) return;
  try {
    const res = await get('/api/sessions/');
    if (!session) return;
    if (!res.ok || !Array.isArray(res.data)) return error('sessions-error', describe(res));
    error('sessions-error', '');
    $('sessions-list').replaceChildren(...res.data.map(sessionItem));
  } catch (e) {
    error('sessions-error', describe(e));
  }
}

/** How a session reads: "Firefox on Linux", where from, when last used. */
export function describeSession(s) {
  const device = s.device || 'Unknown device';
  return { device, detail: `${s.ip || 'unknown address'} · last used ${stamp(s.last_used)}` };
}

function sessionItem(s) {
  const { device, detail } = describeSession(s);
  const title = h('div', { className: s.current ? 'current' : '' }, (s.current ? 'This browser — ' : '') + device);
  const meta = h('div', { className: 'meta' }, title, h('div', { className: 'hint' }, detail));
  const buttons = h('div', { className: 'actions' });
  if (s.current) {
    buttons.append(h('button', { type: 'button', className: 'secondary', onclick: logOut }, 'Log out'));
  } else {
    buttons.append(
      h('button', {
        type: 'button', className: 'secondary', 'aria-label': `Revoke ${device}, ${detail}`,
        onclick: () => revokeSession(s),
      }, 'Revoke'),
      h('button', {
        type: 'button', className: 'secondary not-me', 'aria-label': `This wasn't me: ${device}, ${detail}`,
        onclick: () => notMe(s),
      }, "This wasn't me"),
    );
  }
  return h('li', { 'data-session': s.id }, meta, buttons);
}

async function revokeSession(s) {
  try {
    const res = await authed(`/api/sessions/${encodeURIComponent(s.id)}/`, { method: 'DELETE' });
    if (!session) return;
    if (!res.ok) return error('sessions-error', describe(res));
    loadSessions();
  } catch (e) {
    error('sessions-error', describe(e));
  }
}

// ---- This wasn't me ----------------------------------------------------------

function notMe(s) {
  suspect = s;
  const { device, detail } = describeSession(s);
  $('not-me-text').textContent =
    `If you don't recognise ${device} (${detail}), end it — or every session but this one — ` +
    'and then change your password.';
  error('not-me-error', '');
  $('not-me').hidden = false;
  $('not-me-title').focus();
}

/** Ends the suspect session, or every session but this one; then the password. */
async function endSuspect(all) {
  if (!session) return;
  try {
    let ids = suspect ? [suspect.id] : [];
    if (all) {
      const res = await get('/api/sessions/');
      if (!res.ok || !Array.isArray(res.data)) return error('not-me-error', describe(res));
      ids = res.data.filter((s) => !s.current).map((s) => s.id);
    }
    for (const id of ids) {
      const res = await authed(`/api/sessions/${encodeURIComponent(id)}/`, { method: 'DELETE' });
      if (!session) return;
      if (!res.ok && res.status !== 404) return error('not-me-error', describe(res));
    }
    $('not-me').hidden = true;
    suspect = null;
    error('password-prompt', all
      ? 'Every other session has ended. Now choose a new password.'
      : 'That session has ended. Now choose a new password.');
    loadSessions();
    $('old-password').focus();
  } catch (e) {
    error('not-me-error', describe(e));
  }
}

function cancelNotMe() {
  $('not-me').hidden = true;
  suspect = null;
  $('sessions-reload').focus();
}

// ---- Recent activity -----------------------------------------------------------

export async function loadActivity() {
  if (!session) return;
  try {
    const res = await get('/api/me/activity/?page_size=20');
    if (!session) return;
    if (!res.ok || !res.data || !Array.isArray(res.data.results)) return error('activity-error', describe(res));
    error('activity-error', '');
    const items = res.data.results.map(activityItem);
    if (!items.length) items.push(h('li', {}, 'Nothing yet.'));
    $('activity-list').replaceChildren(...items);
  } catch (e) {
    error('activity-error', describe(e));
  }
}

function activityItem(entry) {
  const by = entry.actor && entry.actor_id !== entry.user_id ? ` by ${entry.actor}` : '';
  const where = [entry.device && entry.device !== 'Unknown device' ? entry.device : '', entry.ip]
    .filter(Boolean).join(' · ');
  return h('li', {},
    h('span', { className: 'what' }, eventLabel(entry.event) + by),
    h('span', { className: 'hint' }, `${stamp(entry.at)}${where ? ' · ' + where : ''}`));
}

async function copyToken() {
  if (!session) return;
  try {
    await navigator.clipboard.writeText(session.access);
    $('copy-status').textContent = 'Copied.';
  } catch (e) {
    // No clipboard API (e.g. plain http on another host): select it instead.
    $('access-token').focus();
    $('access-token').select();
    $('copy-status').textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
  setTimeout(() => { $('copy-status').textContent = ''; }, 4000);
}

export function init(context) {
  ctx = context;
  $('password-form').addEventListener('submit', changePassword);
  $('logout-button').addEventListener('click', logOut);
  $('logout-everywhere-button').addEventListener('click', logOutEverywhere);
  $('copy-button').addEventListener('click', copyToken);
  $('sessions-reload').addEventListener('click', loadSessions);
  $('activity-reload').addEventListener('click', loadActivity);
  $('not-me-one').addEventListener('click', () => endSuspect(false));
  $('not-me-all').addEventListener('click', () => endSuspect(true));
  $('not-me-cancel').addEventListener('click', cancelNotMe);
}
