// latch's page: the entry module. It switches between the views, each its
// own module: sign-in and setup (view-sign-in.js), the account everyone
// has (view-account.js) and, for staff, users and the audit trail
// (view-staff.js). The session and every HTTP call live in api.js.

import { channel, forget, get, hooks, refresh, session, adopt, describe, tick } from '/static/api.js';
import { $, banner, error } from '/static/dom.js';
import * as signIn from '/static/view-sign-in.js';
import * as account from '/static/view-account.js';
import * as staff from '/static/view-staff.js';

const VIEWS = ['loading-view', 'setup-view', 'login-view', 'account-view', 'staff-view'];
const FOCUS = {
  'login-view': 'login-username',
  'setup-view': 'setup-username',
  'account-view': 'account-title',
  'staff-view': 'staff-title',
};

/** Whether the signed-in user is staff, from GET /api/me/. */
let isStaff = false;
let current = '';

function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
  if (current === 'account-view' && view !== 'account-view') account.hidden();
  current = view;
  const signedIn = view === 'account-view' || view === 'staff-view';
  $('console-nav').hidden = !signedIn;
  $('nav-staff').hidden = !isStaff;
  for (const [link, target] of [['nav-account', 'account-view'], ['nav-staff', 'staff-view']]) {
    if (target === view) $(link).setAttribute('aria-current', 'page');
    else $(link).removeAttribute('aria-current');
  }
  if (view === 'account-view') account.shown();
  if (view === 'staff-view') staff.shown();
  const focus = FOCUS[view];
  if (focus) $(focus).focus();
}

/** The signed-in view the address asks for: #staff for staff, else the account. */
function route() {
  if (!session) return;
  show(location.hash === '#staff' && isStaff ? 'staff-view' : 'account-view');
}

/** Signed in: learn who we are, then show the console. */
async function enter() {
  try {
    const me = await get('/api/me/');
    isStaff = Boolean(me.ok && me.data && me.data.is_staff);
  } catch (e) {
    isStaff = false;
  }
  if (!session) return;
  route();
}

function signedOut(message) {
  forget();
  isStaff = false;
  account.clear();
  staff.clear();
  show('login-view');
  error('login-error', '');
  banner(message);
}

async function resume() {
  try {
    if ((await refresh(true)) === 'ok') {
      if (signIn.goBack()) return;
      await enter();
    } else {
      show('login-view');
    }
  } catch (e) {
    show('login-view');
    error('login-error', describe(e));
  }
}

function start() {
  hooks.adopted = account.render;
  hooks.signedOut = signedOut;
  hooks.banner = banner;
  signIn.init({ enter, show });
  account.init({ signedOut });
  staff.init({ enter });
  window.addEventListener('hashchange', route);
  if (channel) {
    channel.onmessage = (ev) => {
      const m = ev.data || {};
      if (m.type === 'session' && m.data) {
        adopt(m.data);
        if (!$('login-view').hidden) enter();
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
    signIn.startSetup();
    return;
  }
  signIn.checkReturn().then(resume);
}

start();
