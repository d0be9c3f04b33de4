import { $, ApiError, api, describe, el, formatDate, requireAccount, say, show } from './app.js';

// The admin API's functions need a function key besides an admin's session (authLevel function):
// asked for once per tab, or taken from a #key= fragment (never sent to the server, then removed
// from the address bar), and kept in this tab's sessionStorage.
const KEY = 'account.functions-key';
const fromLink = new URLSearchParams(location.hash.slice(1)).get('key');
if (fromLink) {
  sessionStorage.setItem(KEY, fromLink);
  history.replaceState(null, '', location.pathname + location.search);
}

$('#key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('#functions-key').value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  $('#functions-key').value = '';
  await start();
});

const me = await requireAccount('manage');
if (me && me.role !== 'admin') {
  say($('#notice'), 'Only administrators can manage accounts.', 'error');
  show($('#pending'), false);
  show($('#locked'), false);
} else if (me) {
  await start();
}

async function start() {
  const ready = Boolean(sessionStorage.getItem(KEY));
  show($('#key-form'), !ready);
  show($('#pending'), ready);
  show($('#locked'), ready);
  if (!ready) return;
  try {
    await Promise.all([load('pending_approval'), load('locked')]);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'http_401') throw e;
    sessionStorage.removeItem(KEY);
    show($('#key-form'), true);
    show($('#pending'), false);
    show($('#locked'), false);
    say($('#key-form [role=alert]'), 'That key was refused. Check it and try again.', 'error');
  }
}

/** An admin API call: the session's access token and the function key. */
function manage(method, path, body) {
  return api(method, path, body, { auth: true, headers: { 'x-functions-key': sessionStorage.getItem(KEY) || '' } });
}

function who(a) {
  const cell = el('td');
  const name = [a.firstName, a.lastName].filter(Boolean).join(' ');
  cell.append(el('strong', name || a.email || a.accountNumber || a.id));
  if (name && a.email) cell.append(el('br'), el('span', a.email));
  if (a.accountNumber) cell.append(el('br'), el('span', `No. ${a.accountNumber}`, { class: 'mono' }));
  return cell;
}

async function listAll(status) {
  const items = [];
  let cursor = '';
  do {
    const page = await manage('GET', `/api/manage/users?status=${status}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < 500);
  return items;
}

function action(label, kind, run, alert) {
  const button = el('button', label, { type: 'button', class: kind });
  button.addEventListener('click', async () => {
    const row = button.closest('tr');
    row.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      await run();
      row.remove();
    } catch (e) {
      say(alert, describe(e), 'error');
      row.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    }
  });
  return button;
}

async function load(status) {
  const pending = status === 'pending_approval';
  const section = pending ? $('#pending') : $('#locked');
  const alert = section.querySelector('[role=alert]');
  const rows = pending ? $('#pending-rows') : $('#locked-rows');
  const items = await listAll(status);
  show(pending ? $('#pending-empty') : $('#locked-empty'), items.length === 0);
  rows.replaceChildren(...items.map((a) => {
    const tr = el('tr', undefined, { 'data-account': a.id });
    const label = [a.firstName, a.lastName].filter(Boolean).join(' ') || a.email || a.accountNumber || a.id;
    const done = (text) => say($('#notice'), text, 'ok');
    if (pending) {
      const decide = el('td');
      const reasonId = `reason-${a.id}`;
      const reason = el('input', undefined, { type: 'text', id: reasonId, placeholder: 'Reason (optional, sent when rejecting)' });
      decide.append(el('label', `Reason for ${label}`, { for: reasonId, class: 'skip' }), reason);
      const buttons = el('div', undefined, { class: 'actions' });
      buttons.append(
        action('Approve', '', async () => {
          await manage('POST', `/api/manage/users/${a.id}/approve`);
          done(`${label} was approved and emailed.`);
        }, alert),
        action('Reject', 'secondary', async () => {
          const text = reason.value.trim();
          await manage('POST', `/api/manage/users/${a.id}/reject`, text ? { reason: text } : undefined);
          done(`${label} was rejected and emailed.`);
        }, alert));
      decide.append(buttons);
      tr.append(who(a), el('td', a.comment || '—', { class: 'comment' }), el('td', formatDate(a.createdAt)), decide);
    } else {
      const unlock = el('td');
      unlock.append(action('Unlock', '', async () => {
        await manage('POST', `/api/manage/users/${a.id}/unlock`);
        done(`${label} was unlocked and emailed.`);
      }, alert));
      tr.append(who(a), el('td', a.emailVerified ? 'email confirmed' : 'email not confirmed'), el('td', formatDate(a.updatedAt)), unlock);
    }
    return tr;
  }));
}

document.body.dataset.ready = 'true';
