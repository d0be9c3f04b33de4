import { $, api, onSubmit, show } from './app.js';

const form = $('#signup');
const invite = new URLSearchParams(location.search).get('invite');
if (invite) $('#inviteCode').value = invite;

onSubmit(form, async (v) => {
  try {
    await api('POST', '/api/signup', v);
  } catch (e) {
    if (e.code === 'invite_required' || e.code === 'invite_invalid') {
      $('#inviteCode').setAttribute('aria-invalid', 'true');
      $('#invite-hint').textContent = '(needed to sign up here)';
      $('#inviteCode').focus();
    }
    throw e;
  }
  $('#done-email').textContent = v.email;
  show(form, false);
  show($('#done'));
  $('#done h2').focus?.();
});

document.body.dataset.ready = 'true';
