// The admin dashboard: plain DOM, no framework. Every value that reaches the page (from a backend, a
// stored entry, an error) is put there with textContent, never parsed as HTML.
'use strict';

const KEY = 'mcpgw-admin-key';
const $ = (id) => document.getElementById(id);
const TEMPLATE = { id: 'example', url: 'https://mcp.example.com/mcp', prefix: 'example', timeoutMs: 30000 };
let editing = null; // { id, version } while a stored backend is edited

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function row(cells) {
  const tr = el('tr');
  for (const cell of cells) {
    const td = el('td');
    if (cell instanceof Node) td.append(cell); else td.textContent = cell === undefined || cell === null ? '' : String(cell);
    tr.append(td);
  }
  return tr;
}

function button(text, onClick, attrs = {}) {
  const b = el('button', text, { type: 'button', ...attrs });
  b.addEventListener('click', onClick);
  return b;
}

function say(text, kind = 'ok') {
  const m = $('message');
  m.textContent = text;
  m.className = kind;
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + sessionStorage.getItem(KEY) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch('/admin/api' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (response.status === 401) { signOut('The key was refused: sign in again.'); throw new Error('unauthorized'); }
  if (!response.ok) {
    const field = data && data.field ? data.field + ': ' : '';
    const error = new Error(field + (data && data.error ? data.error : 'HTTP ' + response.status));
    error.status = response.status;
    throw error;
  }
  return data;
}

// Runs an action, reporting its failure on the page.
async function attempt(action) {
  try { await action(); } catch (error) { if (error.message !== 'unauthorized') say(error.message, 'error'); }
}

const pages = {
  async backends() {
    const data = await api('GET', '/backends');
    const rows = $('backends-rows');
    rows.replaceChildren();
    for (const b of data.backends) {
      const actions = el('span');
      actions.append(
        button('Edit', () => edit(b.id), { 'data-action': 'edit', 'data-id': b.id }),
        button(b.enabled ? 'Disable' : 'Enable', () => attempt(() => toggleBackend(b.id)), { 'data-action': 'toggle', 'data-id': b.id }),
        button('Test', () => attempt(() => testBackend(b.id)), { 'data-action': 'test', 'data-id': b.id }));
      if (b.source !== 'document') {
        actions.append(button(b.source === 'stored' ? 'Delete' : 'Revert', () => attempt(() => removeBackend(b)), { 'data-action': 'delete', 'data-id': b.id }));
      }
      const tr = row([b.id, b.url, b.prefix === undefined ? b.id : b.prefix, b.enabled, b.source, b.active, b.version, actions]);
      tr.dataset.backend = b.id;
      if (b.problem) tr.title = b.problem;
      rows.append(tr);
    }
    if (!editing && !$('backend-json').value) newBackend();
  },

  async tools() {
    const query = $('tools-query').value.trim();
    const data = await api('GET', '/tools' + (query ? '?query=' + encodeURIComponent(query) : ''));
    const rows = $('tools-rows');
    rows.replaceChildren();
    for (const t of data.tools) {
      const tr = row([t.name, t.backend, t.description, t.enabled ? 'yes' : 'no',
        button(t.enabled ? 'Disable' : 'Enable', () => attempt(() => switchTool(t.name, !t.enabled)), { 'data-tool': t.name })]);
      tr.children[2].className = 'wrap';
      tr.dataset.tool = t.name;
      rows.append(tr);
    }
    $('tools-unavailable').textContent = data.unavailableBackends.length
      ? 'Not listed now (unavailable): ' + data.unavailableBackends.join(', ') : '';
  },

  async keys() {
    const data = await api('GET', '/keys');
    const rows = $('keys-rows');
    rows.replaceChildren();
    for (const k of data.keys) {
      const revoke = k.status === 'active' ? button('Revoke', () => attempt(() => revokeKey(k.id)), { 'data-key': k.id }) : '';
      const tr = row([k.id, k.name, (k.scopes || []).join(' '), k.status, k.expiresAt || 'never', k.createdAt || '', revoke]);
      tr.dataset.key = k.id;
      rows.append(tr);
    }
  },

  async health() {
    const data = await api('GET', '/status');
    const rows = $('health-rows');
    rows.replaceChildren();
    for (const [id, b] of Object.entries(data.instance.backends || {})) {
      rows.append(row([id, b.breaker ? b.breaker.state : '', b.toolCount, b.listed, b.transport]));
    }
    $('health-json').textContent = JSON.stringify(data, null, 2);
  },

  async audit() {
    const data = await api('GET', '/audit?limit=100');
    const rows = $('audit-rows');
    rows.replaceChildren();
    for (const e of data.events) rows.append(row([e.seq, e.at, e.actor, e.action, e.target, JSON.stringify(e.detail)]));
  },
};

async function show(page) {
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== 'page-' + page;
  for (const b of document.querySelectorAll('nav button[data-page]')) b.classList.toggle('current', b.dataset.page === page);
  document.body.dataset.page = page;
  if (pages[page]) await attempt(pages[page]);
  document.body.dataset.loaded = page;
}

function newBackend() {
  editing = null;
  $('backend-form-title').textContent = 'Add a backend';
  $('backend-json').value = JSON.stringify(TEMPLATE, null, 2);
}

async function edit(id) {
  await attempt(async () => {
    const b = await api('GET', '/backends/' + encodeURIComponent(id));
    editing = { id, version: b.version };
    for (const shown of ['version', 'source', 'active', 'updatedAt', 'updatedBy', 'problem']) delete b[shown];
    $('backend-form-title').textContent = 'Edit ' + id + ' (version ' + editing.version + ')';
    $('backend-json').value = JSON.stringify(b, null, 2);
  });
}

async function saveBackend() {
  let entry;
  try { entry = JSON.parse($('backend-json').value); } catch (e) { say('The entry is not valid JSON: ' + e.message, 'error'); return; }
  if (editing) {
    await api('PUT', '/backends/' + encodeURIComponent(editing.id), { ...entry, version: editing.version });
    say('Saved ' + editing.id + '.');
  } else {
    const b = await api('POST', '/backends', entry);
    say('Added ' + b.id + '.');
  }
  newBackend();
  await pages.backends();
}

async function toggleBackend(id) {
  const b = await api('GET', '/backends/' + encodeURIComponent(id));
  const version = b.version;
  for (const shown of ['version', 'source', 'active', 'updatedAt', 'updatedBy', 'problem']) delete b[shown];
  b.enabled = !b.enabled;
  await api('PUT', '/backends/' + encodeURIComponent(id), { ...b, version });
  say((b.enabled ? 'Enabled ' : 'Disabled ') + id + '.');
  await pages.backends();
}

async function removeBackend(b) {
  await api('DELETE', '/backends/' + encodeURIComponent(b.id) + '?version=' + b.version);
  say((b.source === 'stored' ? 'Deleted ' : 'Reverted ') + b.id + '.');
  await pages.backends();
}

async function testBackend(id) {
  $('backend-test').textContent = 'Testing ' + id + '...';
  const result = await api('POST', '/backends/' + encodeURIComponent(id) + '/test');
  $('backend-test').textContent = JSON.stringify(result, null, 2);
  say('Tested ' + id + ': ' + result.status + '.');
}

async function switchTool(name, enabled) {
  await api('PUT', '/tools/' + encodeURIComponent(name), { enabled });
  say((enabled ? 'Enabled ' : 'Disabled ') + name + '.');
  await pages.tools();
}

async function createKey() {
  const body = { name: $('key-name').value, scopes: $('key-scopes').value.split(/[\s,]+/).filter(Boolean) };
  if ($('key-expires').value.trim()) body.expires = $('key-expires').value.trim();
  const created = await api('POST', '/keys', body);
  $('key-value').textContent = created.key;
  $('key-created').hidden = false;
  say('Created ' + created.id + '. Copy the key now: it is not shown again.');
  await pages.keys();
}

async function revokeKey(id) {
  await api('DELETE', '/keys/' + encodeURIComponent(id));
  say('Revoked ' + id + '.');
  await pages.keys();
}

function signOut(text) {
  sessionStorage.removeItem(KEY);
  $('nav').hidden = true;
  $('key-created').hidden = true;
  $('key-value').textContent = '';
  show('signin');
  if (text) say(text, 'error');
}

async function signIn(key) {
  sessionStorage.setItem(KEY, key);
  try {
    await api('GET', '/status');
  } catch (error) {
    sessionStorage.removeItem(KEY);
    if (error.message !== 'unauthorized') say(error.message, 'error');
    return;
  }
  $('nav').hidden = false;
  say('Signed in.');
  await show('backends');
}

function submit(id, action) {
  $(id).addEventListener('submit', (event) => { event.preventDefault(); attempt(action); });
}

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('nav button[data-page]')) b.addEventListener('click', () => show(b.dataset.page));
  $('sign-out').addEventListener('click', () => { signOut(); say('Signed out.'); });
  $('backend-new').addEventListener('click', newBackend);
  submit('signin-form', async () => { const key = $('signin-key').value.trim(); $('signin-key').value = ''; await signIn(key); });
  submit('backend-form', saveBackend);
  submit('tools-form', pages.tools);
  submit('key-form', createKey);
  if (sessionStorage.getItem(KEY)) signIn(sessionStorage.getItem(KEY)); else show('signin');
});
