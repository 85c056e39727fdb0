// latch's login page.
//
// The refresh token lives in an HttpOnly cookie the server sets on
// /api/session/...; this script never sees it. The access token lives only
// in the `session` variable below: nothing is written to localStorage,
// sessionStorage or a readable cookie. Tabs share the cookie, so refreshes
// are serialized (two tabs rotating the same refresh token at once would
// trip reuse detection and end the session): with a Web Lock where the
// browser has them, else (plain http on a host other than localhost is no
// secure context, so no Web Locks) with a lease in localStorage that holds
// only an owner id and an expiry. A tab that refreshes tells the others
// over a BroadcastChannel so they skip theirs.
'use strict';

(() => {
  const LOCK = 'latch-refresh';
  /** The localStorage lease: how long it holds unless renewed, how long a
   *  writer waits before re-reading it to see whether its write won. */
  const LEASE_MS = 10000;
  const REQUEST_TIMEOUT_MS = 15000;
  const CONFIRM_MS = 150;
  const UNREACHABLE = "Can't reach the server. Check your connection and try again.";
  const VIEWS = ['loading-view', 'setup-view', 'login-view', 'account-view'];
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel('latch') : null;

  /** {access, claims, username, accessExpires, sessionExpires, skew} or null. */
  let session = null;
  let refreshTimer = 0;
  let clockTimer = 0;
  let setupToken = '';

  const $ = (id) => document.getElementById(id);
  const now = () => Date.now() / 1000;

  class Unreachable extends Error {}

  // ---- HTTP ---------------------------------------------------------------

  /** One JSON call. The custom header is the cookie endpoints' CSRF proof. */
  async function call(path, { method = 'POST', body, bearer } = {}) {
    const headers = { 'X-Requested-With': 'latch', Accept: 'application/json' };
    // A hung request would hold the tabs' lock (and its lease) for ever.
    const init = {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (bearer) headers.Authorization = 'Bearer ' + bearer;
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Unreachable();
    }
    let data = null;
    if (res.status !== 204) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
    return { status: res.status, ok: res.ok, data, retryAfter: res.headers.get('Retry-After') };
  }

  /** A call with the access token; one refresh and retry on a 401. */
  async function authed(path, options = {}) {
    if (!session) throw new Error('not signed in');
    let res = await call(path, { ...options, bearer: session.access });
    if (res.status === 401 && (await refresh(true)) === 'ok') {
      res = await call(path, { ...options, bearer: session.access });
    }
    if (res.status === 401) signedOut('Your session has ended. Sign in again.');
    return res;
  }

  /** Words for a failed answer: the server's own detail where it has one. */
  function describe(res) {
    if (res instanceof Unreachable) return UNREACHABLE;
    if (!res || typeof res.status !== 'number') return 'Something went wrong.';
    const data = res.data || {};
    if (res.status === 429) {
      return data.detail || `Too many attempts. Try again in ${res.retryAfter || 'a few'} seconds.`;
    }
    if (typeof data.detail === 'string') return data.detail;
    if (res.status === 404) return 'This server does not offer that yet.';
    if (res.status >= 500) return 'The server had a problem. Try again later.';
    const messages = Object.values(data).flat().filter((m) => typeof m === 'string');
    return messages.join(' ') || `The request failed (${res.status}).`;
  }

  // ---- Session --------------------------------------------------------------

  function decodeClaims(token, segment = 1) {
    try {
      const part = token.split('.')[segment].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      return {};
    }
  }

  /** Takes an answer of the cookie endpoints as the current session. */
  function adopt(data) {
    const claims = decodeClaims(data.access);
    session = {
      access: data.access,
      claims,
      username: data.username,
      accessExpires: data.access_expires,
      sessionExpires: data.session_expires,
      // Server time minus ours, so a wrong local clock cannot skip a refresh.
      skew: typeof claims.iat === 'number' ? claims.iat - now() : 0,
    };
    renderAccount();
    schedule();
  }

  const serverNow = () => now() + (session ? session.skew : 0);

  /** Seconds before expiry at which to refresh: 30, or a quarter of short lifetimes. */
  function margin() {
    const lifetime = session.accessExpires - (session.claims.iat || session.accessExpires - 300);
    return Math.min(30, Math.max(1, lifetime / 4));
  }

  function withLock(fn) {
    if (navigator.locks && navigator.locks.request) return navigator.locks.request(LOCK, fn);
    return withLease(fn);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** The current lease, {owner, expires}, or null; throws if storage does. */
  function readLease() {
    try {
      const lease = JSON.parse(localStorage.getItem(LOCK));
      return lease && typeof lease.owner === 'string' && typeof lease.expires === 'number' ? lease : null;
    } catch (e) {
      if (e instanceof SyntaxError) return null;
      throw e;
    }
  }

  function writeLease(owner) {
    localStorage.setItem(LOCK, JSON.stringify({ owner, expires: Date.now() + LEASE_MS }));
  }

  /**
   * The lock without Web Locks: take a free or expired lease, wait, read it
   * back, and go ahead only if our write is the one that stayed (another
   * tab writing at the same moment overwrites it, and then it goes ahead
   * and we wait). Renewed while `fn` runs, removed after. Without usable
   * storage there is nothing to coordinate with: `fn` runs alone.
   */
  async function withLease(fn) {
    const owner = randomId();
    try {
      for (;;) {
        const lease = readLease();
        // A lease further ahead than any tab would write means the clock
        // went back: treat it as stale rather than wait for the clock.
        const now = Date.now();
        if (!lease || lease.expires < now || lease.expires > now + LEASE_MS) {
          writeLease(owner);
          await sleep(CONFIRM_MS);
          const kept = readLease();
          if (kept && kept.owner === owner) break;
        }
        await sleep(50 + Math.random() * 100);
      }
    } catch (e) {
      return fn();
    }
    const renew = setInterval(() => {
      try {
        const lease = readLease();
        if (lease && lease.owner === owner) writeLease(owner);
      } catch (e) {
        // Storage went away: the lease will expire by itself.
      }
    }, LEASE_MS / 3);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      try {
        const lease = readLease();
        if (lease && lease.owner === owner) localStorage.removeItem(LOCK);
      } catch (e) {
        // As above.
      }
    }
  }

  function broadcast(message) {
    if (channel) channel.postMessage(message);
  }

  /**
   * Rotates the cookie for a new access token, one tab at a time. Unless
   * forced, skips when another tab already did it while this one waited.
   * Resolves 'ok', 'fresh' or 'signed-out' (a 401, or 204: no cookie, so
   * no session); throws on 429, 5xx, no network.
   */
  function refresh(force) {
    return withLock(async () => {
      if (!force && session && session.accessExpires - serverNow() > margin() + 1) return 'fresh';
      const res = await call('/api/session/refresh', { body: {} });
      if (res.status === 204) return 'signed-out';
      if (res.ok && res.data) {
        adopt(res.data);
        broadcast({ type: 'session', data: res.data });
        return 'ok';
      }
      if (res.status === 401) return 'signed-out';
      throw res;
    });
  }

  function schedule() {
    clearTimeout(refreshTimer);
    if (!session) return;
    const wait = Math.max(1, session.accessExpires - margin() - serverNow());
    refreshTimer = setTimeout(tick, wait * 1000);
  }

  async function tick() {
    try {
      if ((await refresh(false)) === 'signed-out') {
        signedOut('Your session has ended. Sign in again.');
        return;
      }
      banner('');
    } catch (e) {
      banner(`Could not renew the session: ${describe(e)} Retrying…`);
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(tick, 10000);
    }
  }

  function signedOut(message) {
    session = null;
    clearTimeout(refreshTimer);
    $('access-token').value = '';
    $('curl-example').textContent = '';
    $('claims').textContent = '';
    $('sessions-list').replaceChildren();
    show('login-view');
    error('login-error', '');
    banner(message);
  }

  // ---- Rendering --------------------------------------------------------------

  function show(view) {
    for (const id of VIEWS) $(id).hidden = id !== view;
    clearInterval(clockTimer);
    if (view === 'account-view') clockTimer = setInterval(renderTimes, 30000);
    const focus = { 'login-view': 'login-username', 'setup-view': 'setup-username', 'account-view': 'account-title' }[view];
    if (focus) $(focus).focus();
  }

  function error(id, message) {
    const el = $(id);
    el.textContent = message || '';
    el.hidden = !message;
  }

  function banner(message) {
    error('banner', message);
  }

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

  function renderAccount() {
    $('account-username').textContent = session.username;
    renderTimes();
    $('access-token').value = session.access;
    const { alg, kid } = decodeClaims(session.access, 0);
    $('claims').textContent = JSON.stringify({ header: { alg, kid }, claims: session.claims }, null, 2);
    $('curl-example').textContent =
      `curl -H "Authorization: Bearer ${session.access}" ${location.origin}/api/me/`;
  }

  function fieldErrors(res, fields) {
    const data = (res && res.data) || {};
    let shown = false;
    for (const [name, id] of Object.entries(fields)) {
      const messages = Array.isArray(data[name]) ? data[name].join(' ') : '';
      error(id, messages);
      shown = shown || Boolean(messages);
    }
    return shown;
  }

  function busy(form, on) {
    for (const b of form.querySelectorAll('button')) b.disabled = on;
  }

  // ---- Sign in, first run -------------------------------------------------------

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
      show('account-view');
      loadSessions();
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
    fieldErrors(null, { username: 'setup-username-error', password: 'setup-password-error' });
    if (!setupToken) return error('setup-error', 'This link has no setup token. Use the link printed in the server console.');
    if (!username || !password) return error('setup-error', 'Choose a username and a password.');
    if (password !== $('setup-confirm').value) return error('setup-error', 'The two passwords differ.');
    error('setup-error', '');
    busy(form, true);
    try {
      const res = await call('/api/setup', { body: { token: setupToken, username, password } });
      if (res.status === 400 && fieldErrors(res, { username: 'setup-username-error', password: 'setup-password-error' })) {
        return error('setup-error', 'Please correct the fields below.');
      }
      if (!res.ok) return error('setup-error', describe(res));
      setupToken = '';
      history.replaceState(null, '', '/');
      const login = await withLock(() => call('/api/session/login', { body: { username, password } }));
      form.reset();
      if (!login.ok) {
        show('login-view');
        return error('login-error', `Account created, but signing in failed: ${describe(login)}`);
      }
      adopt(login.data);
      broadcast({ type: 'session', data: login.data });
      banner(`Account ${login.data.username} created. You are signed in.`);
      show('account-view');
      loadSessions();
    } catch (e) {
      error('setup-error', describe(e));
    } finally {
      busy(form, false);
    }
  }

  async function logOut() {
    try {
      await withLock(() => call('/api/session/logout', { body: {} }));
    } catch (e) {
      banner(`Not logged out: ${describe(e)}`);
      return;
    }
    broadcast({ type: 'logout' });
    banner('');
    signedOut('You have logged out.');
  }

  // ---- Account views (sessions and password endpoints) ----------------------------

  /** Log out everywhere: POST /api/sessions/revoke-all/, then drop our cookie. */
  async function logOutEverywhere() {
    try {
      const res = await authed('/api/sessions/revoke-all/', { method: 'POST' });
      if (!session) return;
      if (!res.ok) return banner(describe(res));
      await call('/api/session/logout', { body: {} });
      broadcast({ type: 'logout' });
      signedOut('You have been logged out on every device.');
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
      if (!login.ok) return signedOut(`Password changed. Sign in again: ${describe(login)}`);
      adopt(login.data);
      broadcast({ type: 'session', data: login.data });
      error('password-done', 'Password changed. Every other session has been logged out.');
      loadSessions();
    } catch (e) {
      error('password-error', describe(e));
    } finally {
      busy(form, false);
    }
  }

  /** The session list: GET /api/sessions/, each revocable with DELETE /api/sessions/<id>/. */
  async function loadSessions() {
    if (!session) return;
    try {
      const res = await authed('/api/sessions/', { method: 'GET' });
      if (!session) return;
      if (!res.ok || !Array.isArray(res.data)) return error('sessions-error', describe(res));
      error('sessions-error', '');
      $('sessions-list').replaceChildren(...res.data.map(sessionItem));
    } catch (e) {
      error('sessions-error', describe(e));
    }
  }

  function sessionItem(s) {
    const li = document.createElement('li');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const title = document.createElement('div');
    title.textContent = (s.current ? 'This browser — ' : '') + (s.user_agent || 'Unknown client');
    if (s.current) title.className = 'current';
    const detail = document.createElement('div');
    const used = s.last_used ? new Date(s.last_used).toLocaleString() : '?';
    detail.textContent = `${s.ip || 'unknown address'} · last used ${used}`;
    meta.append(title, detail);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = s.current ? 'Log out' : 'Revoke';
    button.setAttribute('aria-label', `Revoke session from ${s.user_agent || 'unknown client'}, last used ${used}`);
    button.addEventListener('click', () => revokeSession(s));
    li.append(meta, button);
    return li;
  }

  async function revokeSession(s) {
    if (s.current) return logOut();
    try {
      const res = await authed(`/api/sessions/${encodeURIComponent(s.id)}/`, { method: 'DELETE' });
      if (!session) return;
      if (!res.ok) return error('sessions-error', describe(res));
      loadSessions();
    } catch (e) {
      error('sessions-error', describe(e));
    }
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

  // ---- Return to the app (?rd=) ----------------------------------------------------

  /** Where to send the browser once signed in: the page's `?rd=`, if the
   *  server says it is a site latch signs in for. */
  let returnTo = null;
  /** Why a given `rd` is not followed, said on the page. */
  let returnNote = '';

  async function checkReturn() {
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
  function goBack() {
    if (!returnTo) return false;
    location.replace(returnTo);
    return true;
  }

  // ---- Start ----------------------------------------------------------------------

  async function resume() {
    try {
      if ((await refresh(true)) === 'ok') {
        if (goBack()) return;
        show('account-view');
        loadSessions();
      } else {
        show('login-view');
      }
    } catch (e) {
      show('login-view');
      error('login-error', describe(e));
    }
  }

  function start() {
    $('login-form').addEventListener('submit', onLogin);
    $('setup-form').addEventListener('submit', onSetup);
    $('password-form').addEventListener('submit', changePassword);
    $('logout-button').addEventListener('click', logOut);
    $('logout-everywhere-button').addEventListener('click', logOutEverywhere);
    $('copy-button').addEventListener('click', copyToken);
    $('sessions-reload').addEventListener('click', loadSessions);
    if (channel) {
      channel.onmessage = (ev) => {
        const m = ev.data || {};
        if (m.type === 'session' && m.data) {
          adopt(m.data);
          if (!$('login-view').hidden) show('account-view');
        } else if (m.type === 'logout' && session) {
          signedOut('You logged out in another tab.');
        }
      };
    }
    // Background tabs run timers late; catch up when shown again.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && session) tick();
    });
    window.addEventListener('pageshow', (ev) => {
      if (ev.persisted) resume();
    });

    if (location.pathname.replace(/\/+$/, '') === '/setup') {
      const query = new URLSearchParams(location.search).get('token');
      setupToken = decodeURIComponent(location.hash.slice(1)) || query || '';
      // Out of the address bar and history: the token is a secret.
      history.replaceState(null, '', '/setup');
      show('setup-view');
      if (!setupToken) error('setup-error', 'This link has no setup token. Use the link printed in the server console.');
      return;
    }
    checkReturn().then(resume);
  }

  start();
})();
