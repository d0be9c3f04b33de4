import { $, api, onSubmit, show } from './app.js';

onSubmit($('#forgot'), async (v) => {
  await api('POST', '/api/password/forgot', { email: v.email });
  $('#done-email').textContent = v.email;
  show($('#forgot'), false);
  show($('#done'));
});

document.body.dataset.ready = 'true';
