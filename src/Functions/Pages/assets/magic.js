import { $, acceptSession, api, describe, dropLinkToken, nextPage, onSubmit, say, show, takeLinkToken } from './app.js';
import { askMfa } from './mfa.js';

const token = takeLinkToken('magic');

async function signIn(answer) {
  dropLinkToken('magic');
  if (answer.mfaRequired) {
    for (const id of ['#continue', '#request', '#code']) show($(id), false);
    await askMfa(answer.mfaToken);
  } else {
    await acceptSession(answer);
  }
  location.assign(nextPage());
}

if (token) {
  show($('#continue'));
  show($('#request'), false);
  const button = $('#continue-button');
  const alert = $('#continue [role=alert]');
  button.addEventListener('click', async () => {
    button.disabled = true;
    say(alert, '');
    try {
      await signIn(await api('POST', '/api/login/email/redeem', { token, useCookie: true }));
    } catch (e) {
      say(alert, describe(e), 'error');
      if (e.code === 'invalid_token') { dropLinkToken('magic'); show($('#request')); }
      else button.disabled = false;
    }
  });
  button.focus();
}

onSubmit($('#request'), async (v) => {
  await api('POST', '/api/login/email', { email: v.email });
  $('#code-email').value = v.email;
  say($('#request [role=alert]'), 'If that address has an account, a sign-in link and code are on their way. They work once, for 10 minutes.', 'ok');
});

onSubmit($('#code'), async (v) => signIn(await api('POST', '/api/login/email/redeem', { email: v.email, code: v.code, useCookie: true })));

document.body.dataset.ready = 'true';
