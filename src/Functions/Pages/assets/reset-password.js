import { $, ApiError, api, dropLinkToken, onSubmit, show, takeLinkToken } from './app.js';

const token = takeLinkToken('reset-password');
if (!token) show($('#missing'));
else {
  show($('#reset'));
  $('#newPassword').focus();
}

// Nothing is used up until this form is sent.
onSubmit($('#reset'), async (v) => {
  if (v.newPassword !== v.confirm) {
    throw new ApiError(400, { code: 'validation_failed', errors: { confirm: ['The two passwords are not the same.'] } });
  }
  try {
    await api('POST', '/api/password/reset', { token, newPassword: v.newPassword });
  } catch (e) {
    if (e.code === 'invalid_token') { dropLinkToken('reset-password'); show($('#missing')); }
    if (e.errors?.password) e.errors = { newPassword: e.errors.password };
    throw e;
  }
  dropLinkToken('reset-password');
  show($('#reset'), false);
  show($('#done'));
});

document.body.dataset.ready = 'true';
