import { $, ApiError, api, describe, el, formatDate, onSubmit, requireAccount, say, show, signOut } from './app.js';

let account = await requireAccount('settings');
if (account) {
  render(account);
  await loadSessions();
}

function render(a) {
  account = a;
  $('#fact-email').textContent = a.email || 'none (you sign in with the account number)';
  $('#fact-number').textContent = a.accountNumber || '—';
  $('#fact-status').textContent = a.status;
  $('#fact-role').textContent = a.role;
  show($('#manage-link'), a.role === 'admin');
  const profile = $('#profile');
  profile.elements.firstName.value = a.firstName || '';
  profile.elements.lastName.value = a.lastName || '';
  profile.elements.location.value = a.profile?.location || '';
  profile.elements.bio.value = a.profile?.bio || '';
  profile.elements.avatarUrl.value = a.profile?.avatarUrl || '';
  $('#password').elements.username.value = a.email || a.accountNumber || '';
  if (a.pendingEmail) say($('#pending-email'), `Waiting for you to confirm ${a.pendingEmail}: open the link we emailed there.`, 'warn');
  else show($('#pending-email'), false);
  show($('#mfa-off'), !a.mfaEnabled && $('#mfa-setup').hidden && $('#mfa-codes').hidden);
  show($('#mfa-on'), a.mfaEnabled && $('#mfa-codes').hidden);
}

const status = (form) => form.querySelector('[role=status]');

$('#sign-out').addEventListener('click', async () => {
  await signOut();
  location.assign('/account/login?notice=signed-out');
});

onSubmit($('#profile'), async (v) => {
  // Empty fields clear the value: send every field, null for empty.
  const body = {};
  for (const name of ['firstName', 'lastName', 'location', 'bio', 'avatarUrl']) body[name] = v[name] ?? null;
  render(await api('PATCH', '/api/me', body, { auth: true }));
  say(status($('#profile')), 'Profile saved.', 'ok');
});

onSubmit($('#password'), async (v) => {
  await api('POST', '/api/me/password', { currentPassword: v.currentPassword, newPassword: v.newPassword }, { auth: true });
  $('#password').reset();
  say(status($('#password')), 'Password changed. Your other devices were signed out.', 'ok');
  await loadSessions();
});

onSubmit($('#email'), async (v) => {
  await api('POST', '/api/me/email', { currentPassword: v.currentPassword, newEmail: v.newEmail }, { auth: true });
  $('#email').reset();
  say(status($('#email')), `We emailed a confirmation link to ${v.newEmail}. Until you open it, you sign in with your current address.`, 'ok');
  render(await api('GET', '/api/me', undefined, { auth: true }));
});

// ---- two-step verification ----

function drawQr(canvas, text) {
  const qr = window.qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4;
  const scale = Math.max(2, Math.floor(canvas.width / (count + quiet * 2)));
  const size = (count + quiet * 2) * scale;
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = '#000';
  for (let r = 0; r < count; r++)
    for (let c = 0; c < count; c++)
      if (qr.isDark(r, c)) ctx.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
}

$('#mfa-start').addEventListener('click', async () => {
  const alert = $('#mfa-alert');
  say(alert, '');
  try {
    const setup = await api('POST', '/api/me/mfa/totp', undefined, { auth: true });
    drawQr($('#mfa-qr'), setup.otpauthUri);
    $('#mfa-qr').dataset.uri = setup.otpauthUri;
    $('#mfa-secret').textContent = setup.secret;
    show($('#mfa-off'), false);
    show($('#mfa-setup'));
    $('#mfa-confirm-code').focus();
  } catch (e) {
    say(alert, describe(e), 'error');
  }
});

onSubmit($('#mfa-setup'), async (v) => {
  const result = await api('POST', '/api/me/mfa/totp/confirm', { code: v.code }, { auth: true });
  const list = $('#mfa-code-list');
  list.replaceChildren(...result.recoveryCodes.map((code) => el('li', code)));
  show($('#mfa-setup'), false);
  show($('#mfa-codes'));
  render(await api('GET', '/api/me', undefined, { auth: true }));
});

onSubmit($('#mfa-on'), async (v) => {
  await api('DELETE', '/api/me/mfa/totp', { currentPassword: v.currentPassword }, { auth: true });
  $('#mfa-on').reset();
  show($('#mfa-codes'), false);
  render(await api('GET', '/api/me', undefined, { auth: true }));
});

// ---- sessions ----

function device(userAgent) {
  if (!userAgent) return 'Unknown device';
  const browser = /Edg\//.test(userAgent) ? 'Edge' : /Firefox\//.test(userAgent) ? 'Firefox'
    : /Chrom(e|ium)\//.test(userAgent) ? 'Chrome' : /Safari\//.test(userAgent) ? 'Safari' : null;
  const os = /Windows/.test(userAgent) ? 'Windows' : /Android/.test(userAgent) ? 'Android' : /iPhone|iPad/.test(userAgent) ? 'iOS'
    : /Mac OS X/.test(userAgent) ? 'macOS' : /Linux/.test(userAgent) ? 'Linux' : null;
  return browser || os ? [browser, os].filter(Boolean).join(' on ') : userAgent.slice(0, 60);
}

async function loadSessions() {
  const alert = $('#sessions [role=alert]');
  const rows = $('#session-rows');
  const sessions = await api('GET', '/api/me/sessions', undefined, { auth: true });
  rows.replaceChildren(...sessions.map((s) => {
    const tr = el('tr', undefined, { 'data-session': s.id });
    const who = el('td', device(s.userAgent), { title: s.userAgent || '' });
    if (s.current) who.append(' ', el('strong', '(this device)'));
    tr.append(who, el('td', s.ipAddress || '—'), el('td', formatDate(s.createdAt)), el('td', formatDate(s.lastUsedAt)));
    const action = el('td');
    const button = el('button', s.current ? 'Sign out' : 'End', { type: 'button', class: 'secondary' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        if (s.current) {
          await signOut();
          location.assign('/account/login?notice=signed-out');
          return;
        }
        await api('DELETE', `/api/me/sessions/${encodeURIComponent(s.id)}`, undefined, { auth: true });
        tr.remove();
        say(alert, 'That session was signed out.', 'ok');
      } catch (e) {
        say(alert, describe(e), 'error');
        button.disabled = false;
      }
    });
    action.append(button);
    tr.append(action);
    return tr;
  }));
}

// ---- delete ----

onSubmit($('#delete'), async (v) => {
  if (!v.sure) throw new ApiError(400, { code: 'validation_failed', errors: { sure: ['Tick the box to confirm.'] } });
  await api('DELETE', '/api/me', { currentPassword: v.currentPassword }, { auth: true });
  await signOut();
  location.assign('/account/login?notice=deleted');
});

document.body.dataset.ready = 'true';
