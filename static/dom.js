// Small DOM helpers every view shares.

export const $ = (id) => document.getElementById(id);

/** Shows `message` in the element `id`, or hides it when empty. */
export function error(id, message) {
  const el = $(id);
  el.textContent = message || '';
  el.hidden = !message;
}

export function banner(message) {
  error('banner', message);
}

/** The server's per-field messages next to their fields; true if any. */
export function fieldErrors(res, fields) {
  const data = (res && res.data) || {};
  let shown = false;
  for (const [name, id] of Object.entries(fields)) {
    const messages = Array.isArray(data[name]) ? data[name].join(' ') : '';
    error(id, messages);
    const input = $(id.replace(/-error$/, ''));
    if (input) {
      if (messages) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    shown = shown || Boolean(messages);
  }
  return shown;
}

export function busy(form, on) {
  for (const b of form.querySelectorAll('button')) b.disabled = on;
}

/** An element: `h('button', {type: 'button', className: 'x'}, 'Text')`. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className' || k === 'textContent' || k === 'type' || k === 'value') el[k] = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** An RFC 3339 time as the reader's locale writes it. */
export function stamp(iso) {
  if (!iso) return '?';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Audit event names in words. */
const EVENTS = {
  login_ok: 'Signed in',
  login_failed: 'Failed sign-in',
  login_throttled: 'Sign-in throttled',
  refresh_reuse_detected: 'Stolen refresh token detected',
  logout: 'Logged out',
  logout_everywhere: 'Logged out everywhere',
  session_ended: 'Session ended',
  password_changed: 'Password changed',
  password_reset: 'Password reset',
  user_created: 'User created',
  user_changed: 'User changed',
  user_deleted: 'User deleted',
  tokens_minted: 'Tokens minted',
  first_run_claimed: 'First account created',
  key_rotated: 'Signing key rotated',
  key_retired: 'Signing key retired',
};

export const eventNames = EVENTS;

export function eventLabel(name) {
  return EVENTS[name] || name;
}
