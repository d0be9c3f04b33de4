import { $, api, acceptSession, currentAccount, nextPage, onSubmit, say, show } from './app.js';
import { askMfa } from './mfa.js';

const notices = {
  'signed-out': 'You are signed out.',
  deleted: 'Your account was deleted.',
  'password-changed': 'Your password was changed. Sign in with the new one.',
  'session-ended': 'Your session has ended. Please sign in again.',
};
const notice = new URLSearchParams(location.search).get('notice');
if (notices[notice]) say($('#notice'), notices[notice], 'ok');

// Already signed in (the refresh cookie still works): straight on.
if (!notice) currentAccount().then((account) => { if (account) location.replace(nextPage()); }).catch(() => {});

onSubmit($('#login'), async (v) => {
  const answer = await api('POST', '/api/login', { ...v, useCookie: true });
  if (answer.mfaRequired) {
    show($('#login'), false);
    await askMfa(answer.mfaToken);
  } else {
    await acceptSession(answer);
  }
  location.assign(nextPage());
});

document.body.dataset.ready = 'true';
