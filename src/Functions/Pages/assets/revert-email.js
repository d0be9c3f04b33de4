import { $, api, describe, dropLinkToken, say, show, takeLinkToken } from './app.js';

const token = takeLinkToken('revert-email');
if (!token) show($('#missing'));
else {
  show($('#continue'));
  const button = $('#continue-button');
  const alert = $('#continue [role=alert]');
  button.addEventListener('click', async () => {
    button.disabled = true;
    say(alert, '');
    try {
      const result = await api('POST', '/api/email/revert', { token });
      dropLinkToken('revert-email');
      sessionStorage.clear(); // every session ended, this tab's too
      show($('#continue'), false);
      // email_restored; or account_locked when another account confirmed the old address meanwhile.
      show(result?.status === 'account_locked' ? $('#locked') : $('#done'));
    } catch (e) {
      say(alert, describe(e), 'error');
      if (e.code === 'invalid_token') dropLinkToken('revert-email');
      else button.disabled = false;
    }
  });
}

document.body.dataset.ready = 'true';
