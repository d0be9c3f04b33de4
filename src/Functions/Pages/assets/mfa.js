// The second step of a sign-in when the account has two-step verification (login and magic pages).
import { $, api, acceptSession, onSubmit, show } from './app.js';

/** Shows the #mfa form; resolves with the account once a code or recovery code is accepted. */
export function askMfa(mfaToken) {
  const form = $('#mfa');
  show(form);
  $('#mfa-code').focus();
  let recovery = false;
  $('#mfa-toggle').addEventListener('click', () => {
    recovery = !recovery;
    show($('#mfa-code-field'), !recovery);
    show($('#mfa-recovery-field'), recovery);
    $('#mfa-toggle').textContent = recovery ? 'Use a code from the app instead' : 'Use a recovery code instead';
    (recovery ? $('#mfa-recovery') : $('#mfa-code')).focus();
  });
  return new Promise((resolve) => {
    onSubmit(form, async (v) => {
      const body = recovery ? { mfaToken, recoveryCode: v.recoveryCode || '' } : { mfaToken, code: v.code || '' };
      const session = await api('POST', '/api/login/mfa', { ...body, useCookie: true });
      resolve(await acceptSession(session));
    });
  });
}
