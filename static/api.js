// latch's page: the session and the HTTP calls every view makes.
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

const LOCK = 'latch-refresh';
/** The localStorage lease: how long it holds unless renewed, how long a
 *  writer waits before re-reading it to see whether its write won. */
const LEASE_MS = 10000;
const REQUEST_TIMEOUT_MS = 15000;
const CONFIRM_MS = 150;
const UNREACHABLE = "Can't reach the server. Check your connection and try again.";
export const channel = 'BroadcastChannel' in window ? new BroadcastChannel('latch') : null;

/** {access, claims, username, accessExpires, sessionExpires, skew} or null. */
export let session = null;
let refreshTimer = 0;

const now = () => Date.now() / 1000;

/** What the views do when the session changes; app.js fills these in. */
export const hooks = {
  adopted: () => {},
  signedOut: () => {},
  banner: () => {},
};

/** Forgets the session here (the server side is the caller's business). */
export function forget() {
  session = null;
  clearTimeout(refreshTimer);
}

/** A GET with the access token. */
export const get = (path) => authed(path, { method: 'GET' });

/** Query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class Unreachable extends Error {}

// ---- HTTP ---------------------------------------------------------------

/** One JSON call. The custom header is the cookie endpoints' CSRF proof. */
export async function call(path, { method = 'POST', body, bearer } = {}) {
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
export async function authed(path, options = {}) {
  if (!session) throw new Error('not signed in');
  let res = await call(path, { ...options, bearer: session.access });
  if (res.status === 401 && (await refresh(true)) === 'ok') {
    res = await call(path, { ...options, bearer: session.access });
  }
  if (res.status === 401) hooks.signedOut('Your session has ended. Sign in again.');
  return res;
}

/** Words for a failed answer: the server's own detail where it has one. */
export function describe(res) {
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

export function decodeClaims(token, segment = 1) {
  try {
    const part = token.split('.')[segment].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    return {};
  }
}

/** Takes an answer of the cookie endpoints as the current session. */
export function adopt(data) {
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
  hooks.adopted();
  schedule();
}

export const serverNow = () => now() + (session ? session.skew : 0);

/** Seconds before expiry at which to refresh: 30, or a quarter of short lifetimes. */
function margin() {
  const lifetime = session.accessExpires - (session.claims.iat || session.accessExpires - 300);
  return Math.min(30, Math.max(1, lifetime / 4));
}

export function withLock(fn) {
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

export function broadcast(message) {
  if (channel) channel.postMessage(message);
}

/**
 * Rotates the cookie for a new access token, one tab at a time. Unless
 * forced, skips when another tab already did it while this one waited.
 * Resolves 'ok', 'fresh' or 'signed-out' (a 401, or 204: no cookie, so
 * no session); throws on 429, 5xx, no network.
 */
export function refresh(force) {
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

export async function tick() {
  try {
    if ((await refresh(false)) === 'signed-out') {
      hooks.signedOut('Your session has ended. Sign in again.');
      return;
    }
    hooks.banner('');
  } catch (e) {
    hooks.banner(`Could not renew the session: ${describe(e)} Retrying…`);
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(tick, 10000);
  }
}

