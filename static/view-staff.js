// The staff view: users (search, pages, create, activate, staff, password
// reset, forced log-out, delete, their sessions) and the audit trail. Only
// shown to staff; the API refuses everyone else whatever the page does.

import { authed, describe, get, query, session } from '/static/api.js';
import { $, busy, error, eventLabel, eventNames, fieldErrors, h, stamp } from '/static/dom.js';

const PAGE_SIZE = 20;
const users = { page: 1, search: '', count: 0 };
const audit = { page: 1, filters: {}, count: 0 };
/** The user the detail panel shows. */
let selected = null;
/** What app.js does to learn again who is signed in. */
let ctx = { enter: () => {} };

const pages = (count) => Math.max(1, Math.ceil(count / PAGE_SIZE));

export function shown() {
  loadUsers();
  loadAudit();
}

export function clear() {
  selected = null;
  $('user-detail').hidden = true;
  $('users-list').replaceChildren();
  $('audit-list').replaceChildren();
  $('detail-sessions').replaceChildren();
}

// ---- Users ----------------------------------------------------------------

async function loadUsers() {
  if (!session) return;
  try {
    const res = await get('/api/admin/users/' + query({ page: users.page, page_size: PAGE_SIZE, search: users.search }));
    if (!session) return;
    if (res.status === 404 && users.page > 1) {
      users.page = 1;
      return loadUsers();
    }
    if (!res.ok || !res.data || !Array.isArray(res.data.results)) return error('staff-error', describe(res));
    error('staff-error', '');
    users.count = res.data.count;
    const items = res.data.results.map(userItem);
    $('users-list').replaceChildren(...items);
    const of = users.search ? ` matching “${users.search}”` : '';
    $('users-summary').textContent =
      `${users.count} user${users.count === 1 ? '' : 's'}${of} · page ${users.page} of ${pages(users.count)}`;
    $('users-prev').disabled = users.page <= 1;
    $('users-next').disabled = users.page >= pages(users.count);
  } catch (e) {
    error('staff-error', describe(e));
  }
}

function facts(u) {
  return [u.is_staff ? 'staff' : 'user', u.is_active ? 'active' : 'deactivated'].join(' · ');
}

function userItem(u) {
  return h('li', { 'data-user': u.username },
    h('button', { type: 'button', className: 'link', onclick: () => openUser(u.id) }, u.username),
    h('span', { className: u.is_active ? 'hint' : 'hint inactive' }, facts(u)));
}

async function openUser(id) {
  error('staff-done', '');
  try {
    const res = await get(`/api/admin/users/${id}/`);
    if (!session) return;
    if (!res.ok) return error('staff-error', describe(res));
    selected = res.data;
    error('detail-error', '');
    error('detail-done', '');
    renderDetail();
    $('user-detail').hidden = false;
    $('detail-title').focus();
    loadUserSessions();
  } catch (e) {
    error('staff-error', describe(e));
  }
}

function renderDetail() {
  const u = selected;
  $('detail-username').textContent = u.username;
  const last = u.last_login ? `last signed in ${stamp(u.last_login)}` : 'never signed in';
  $('detail-facts').textContent = `${facts(u)} · joined ${stamp(u.date_joined)} · ${last}`;
  $('detail-active').textContent = u.is_active ? 'Deactivate' : 'Activate';
  $('detail-staff').textContent = u.is_staff ? 'Remove staff' : 'Make staff';
  $('delete-confirm').hidden = true;
  $('delete-question').textContent =
    `Delete ${u.username}? Their sessions and tokens end, and this cannot be undone.`;
  $('delete-yes').textContent = `Delete ${u.username}`;
}

/** One staff action on the selected user; `done` says what happened. */
async function act(path, options, done) {
  if (!selected) return;
  const detail = $('user-detail');
  busy(detail, true);
  error('detail-error', '');
  error('detail-done', '');
  try {
    const res = await authed(`/api/admin/users/${selected.id}/${path}`, options);
    if (!session) return null;
    if (!res.ok) {
      error('detail-error', describe(res));
      return null;
    }
    error('detail-done', done);
    return res;
  } catch (e) {
    error('detail-error', describe(e));
    return null;
  } finally {
    busy(detail, false);
  }
}

async function change(fields, done) {
  const res = await act('', { method: 'PATCH', body: fields }, done);
  if (!res) return;
  selected = res.data;
  if (session && res.data.username === session.username && !res.data.is_staff) {
    // Staff no more: the console goes back to the account.
    location.hash = '#account';
    ctx.enter();
    return;
  }
  renderDetail();
  loadUsers();
  loadAudit();
  if (fields.is_active === false) loadUserSessions();
}

function toggleActive() {
  const u = selected;
  if (!u) return;
  change({ is_active: !u.is_active },
    u.is_active ? `${u.username} is deactivated: their sessions and tokens have ended.` : `${u.username} is active again.`);
}

function toggleStaff() {
  const u = selected;
  if (!u) return;
  change({ is_staff: !u.is_staff }, u.is_staff ? `${u.username} is no longer staff.` : `${u.username} is now staff.`);
}

async function forceLogout() {
  const name = selected && selected.username;
  const res = await act('logout/', { method: 'POST' }, `${name} has been logged out everywhere.`);
  if (res && res.data && typeof res.data.revoked === 'number') {
    error('detail-done', `${name} has been logged out everywhere (${res.data.revoked} session${res.data.revoked === 1 ? '' : 's'} ended).`);
  }
  if (res) {
    loadUserSessions();
    loadAudit();
  }
}

async function resetPassword(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const password = $('reset-password').value;
  const fields = { password: 'reset-password-error' };
  fieldErrors(null, fields);
  if (!password) return fieldErrors({ data: { password: ['This field may not be blank.'] } }, fields);
  if (!selected) return;
  const name = selected.username;
  busy(form, true);
  error('detail-error', '');
  error('detail-done', '');
  try {
    const res = await authed(`/api/admin/users/${selected.id}/password/`, { body: { password } });
    if (!session) return;
    if (res.status === 400 && fieldErrors(res, fields)) return;
    if (!res.ok) return error('detail-error', describe(res));
    $('reset-password').value = '';
    error('detail-done', `The password of ${name} has been reset.`);
    loadUserSessions();
    loadAudit();
  } catch (e) {
    error('detail-error', describe(e));
  } finally {
    busy(form, false);
  }
}

function askDelete() {
  $('delete-confirm').hidden = false;
  $('delete-no').focus();
}

function cancelDelete() {
  $('delete-confirm').hidden = true;
  $('detail-delete').focus();
}

async function confirmDelete() {
  if (!selected) return;
  const name = selected.username;
  const res = await act('', { method: 'DELETE' }, `${name} has been deleted.`);
  $('delete-confirm').hidden = true;
  if (!res) {
    $('detail-delete').focus();
    return;
  }
  selected = null;
  $('user-detail').hidden = true;
  error('staff-error', '');
  error('staff-done', `${name} has been deleted.`);
  loadUsers();
  loadAudit();
  $('staff-title').focus();
}

async function loadUserSessions() {
  if (!selected) return;
  try {
    const res = await get(`/api/admin/users/${selected.id}/sessions/`);
    if (!session || !selected) return;
    if (!res.ok || !Array.isArray(res.data)) return error('detail-error', describe(res));
    $('detail-sessions').replaceChildren(...res.data.map((s) => h('li', {},
      h('div', { className: 'meta' },
        h('div', {}, s.device || 'Unknown device'),
        h('div', { className: 'hint' }, `${s.ip || 'unknown address'} · last used ${stamp(s.last_used)}`)))));
    $('detail-sessions-empty').hidden = res.data.length > 0;
  } catch (e) {
    error('detail-error', describe(e));
  }
}

function showUserAudit() {
  if (!selected) return;
  $('audit-user').value = selected.username;
  $('audit-event').value = '';
  $('audit-since').value = '';
  audit.filters = { user: selected.username };
  audit.page = 1;
  loadAudit();
  $('audit-title').focus();
}

// ---- Create --------------------------------------------------------------------

async function createUser(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const username = $('create-username').value.trim();
  const password = $('create-password').value;
  const fields = { username: 'create-username-error', password: 'create-password-error' };
  fieldErrors(null, fields);
  error('create-done', '');
  error('create-error', '');
  busy(form, true);
  try {
    const res = await authed('/api/admin/users/', { body: { username, password, is_staff: $('create-staff').checked } });
    if (!session) return;
    if (res.status === 400 && fieldErrors(res, fields)) {
      return error('create-error', 'Please correct the fields below.');
    }
    if (!res.ok) return error('create-error', describe(res));
    form.reset();
    error('create-done', `${res.data.username} has been created.`);
    users.search = '';
    $('user-search').value = '';
    users.page = Math.max(1, pages(users.count + 1));
    loadUsers();
    loadAudit();
  } catch (e) {
    error('create-error', describe(e));
  } finally {
    busy(form, false);
  }
}

// ---- Audit trail ---------------------------------------------------------------

async function loadAudit() {
  if (!session) return;
  try {
    const res = await get('/api/admin/audit/' + query({ ...audit.filters, page: audit.page, page_size: PAGE_SIZE }));
    if (!session) return;
    if (res.status === 404 && audit.page > 1) {
      audit.page = 1;
      return loadAudit();
    }
    if (!res.ok || !res.data || !Array.isArray(res.data.results)) {
      $('audit-list').replaceChildren();
      return error('audit-error', describe(res));
    }
    error('audit-error', '');
    audit.count = res.data.count;
    const items = res.data.results.map(auditItem);
    if (!items.length) items.push(h('li', {}, 'No entries.'));
    $('audit-list').replaceChildren(...items);
    $('audit-summary').textContent =
      `${audit.count} entr${audit.count === 1 ? 'y' : 'ies'} · page ${audit.page} of ${pages(audit.count)}`;
    $('audit-prev').disabled = audit.page <= 1;
    $('audit-next').disabled = audit.page >= pages(audit.count);
  } catch (e) {
    error('audit-error', describe(e));
  }
}

function auditItem(e) {
  const who = e.username ? ` — ${e.username}` : '';
  const by = e.actor && e.actor !== e.username ? ` by ${e.actor}` : '';
  return h('li', { 'data-event': e.event },
    h('span', { className: 'what' }, `${eventLabel(e.event)}${who}${by}`),
    h('span', { className: 'hint' }, `${stamp(e.at)}${e.ip ? ' · ' + e.ip : ''}`));
}

function filterAudit(ev) {
  ev.preventDefault();
  audit.filters = {
    user: $('audit-user').value.trim(),
    event: $('audit-event').value,
    since: $('audit-since').value,
  };
  audit.page = 1;
  loadAudit();
}

export function init(context) {
  ctx = context;
  const select = $('audit-event');
  for (const [name, label] of Object.entries(eventNames)) select.append(h('option', { value: name }, label));
  $('user-search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    users.search = $('user-search').value.trim();
    users.page = 1;
    loadUsers();
  });
  $('users-prev').addEventListener('click', () => { users.page -= 1; loadUsers(); });
  $('users-next').addEventListener('click', () => { users.page += 1; loadUsers(); });
  $('detail-active').addEventListener('click', toggleActive);
  $('detail-staff').addEventListener('click', toggleStaff);
  $('detail-logout').addEventListener('click', forceLogout);
  $('detail-audit').addEventListener('click', showUserAudit);
  $('detail-delete').addEventListener('click', askDelete);
  $('delete-no').addEventListener('click', cancelDelete);
  $('delete-yes').addEventListener('click', confirmDelete);
  $('reset-form').addEventListener('submit', resetPassword);
  $('create-form').addEventListener('submit', createUser);
  $('audit-form').addEventListener('submit', filterAudit);
  $('audit-prev').addEventListener('click', () => { audit.page -= 1; loadAudit(); });
  $('audit-next').addEventListener('click', () => { audit.page += 1; loadAudit(); });
}
