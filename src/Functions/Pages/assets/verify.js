import { $, acceptSession, api, describe, dropLinkToken, onSubmit, say, show, takeLinkToken } from './app.js';

const token = takeLinkToken('verify');

async function finish(result) {
  dropLinkToken('verify');
  show($('#continue'), false);
  show($('#code'), false);
  show($('#resend'), false);
  show($('#result'));
  const text = $('#result-text');
  if (result.session) {
    await acceptSession(result.session);
    say(text, 'Your email address is confirmed and you are signed in.', 'ok');
    $('#result-next a').href = '/account/settings';
    $('#result-next a').textContent = 'Go to your account';
    show($('#result-next'));
  } else if (result.status === 'pending_approval') {
    $('#result-title').textContent = 'Email confirmed: waiting for approval';
    say(text, 'Your email address is confirmed. An administrator has to approve the account before you can sign in; you will get an email when they do.', 'ok');
  } else {
    say(text, 'Your email address is confirmed. You can sign in now.', 'ok');
    show($('#result-next'));
  }
}

if (token) {
  // Opening the link (as a mail scanner also does) changed nothing: only this button does.
  show($('#continue'));
  show($('#code'), false);
  const button = $('#continue-button');
  const alert = $('#continue [role=alert]');
  button.addEventListener('click', async () => {
    button.disabled = true;
    say(alert, '');
    try {
      await finish(await api('POST', '/api/email/verify', { token }));
    } catch (e) {
      say(alert, describe(e), 'error');
      if (e.code === 'invalid_token') { dropLinkToken('verify'); show($('#code')); }
      else button.disabled = false;
    }
  });
  button.focus();
}

onSubmit($('#code'), async (v) => finish(await api('POST', '/api/email/verify', { email: v.email, code: v.code })));

onSubmit($('#resend'), async (v) => {
  await api('POST', '/api/email/resend', { email: v.email });
  say($('#resend [role=alert]'), 'If that address is waiting for confirmation, a new link is on its way.', 'ok');
});

document.body.dataset.ready = 'true';
