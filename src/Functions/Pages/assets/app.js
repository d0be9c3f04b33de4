// Shared by every page under /account/: calls to the API, the browser's session, forms and messages.
//
// Session: the refresh token lives only in the HttpOnly __Host-refresh cookie (useCookie), where no
// script can read it. The access token (15 minutes) is kept in sessionStorage: per tab, gone when
// the tab closes, so that moving between pages does not rotate the refresh token each time.

const ACCESS_KEY = 'account.access';
const TOKEN_KEY_PREFIX = 'account.link.';

const MESSAGES = {
  invalid_credentials: 'The email, account number or password is wrong.',
  invalid_token: 'This link or code is invalid, already used, or expired.',
  invalid_code: 'The code is wrong, expired or was already used.',
  email_not_verified: 'Please confirm your email address first: open the link we emailed you.',
  approval_pending: 'Your account is waiting for an administrator\'s approval.',
  account_locked: 'This account is locked.',
  account_rejected: 'This account was not approved.',
  email_taken: 'Another account has already confirmed this email address.',
  wrong_password: 'The current password is wrong.',
  too_many_requests: 'Too many attempts. Please wait a while and try again.',
  invite_required: 'Signing up needs an invite code.',
  invite_invalid: 'The invite code is invalid, used, expired or meant for another address.',
  unauthorized: 'Please sign in again.',
  forbidden: 'You are not allowed to do this.',
  storage_unavailable: 'The service is briefly unavailable. Please try again in a moment.',
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.title || `Request failed (${status})`);
    this.status = status;
    this.code = problem?.code || `http_${status}`;
    this.errors = problem?.errors || {};
  }
}

export function describe(error) {
  if (!(error instanceof ApiError)) return 'Could not reach the service. Check your connection and try again.';
  const fields = Object.values(error.errors).flat();
  if ((error.code === 'validation_failed' || error.code === 'weak_password') && fields.length) return fields.join(' ');
  return MESSAGES[error.code] || error.message;
}

/**
 * A JSON call to the API. With auth, the access token is sent and renewed once on a 401; when the
 * session is gone even so (signed out elsewhere, every session ended by a reverted email change or a
 * password reset), the tab goes to the login page, which comes back here afterwards. redirect: false
 * leaves that to the caller.
 */
export async function api(method, path, body, { auth = false, redirect = auth, headers = {} } = {}) {
  try {
    return await call(method, path, body, auth, headers);
  } catch (e) {
    // The host's own 401 (a function key missing or wrong) has no problem body: not the session's.
    if (redirect && e instanceof ApiError && e.status === 401 && e.code !== 'http_401') toLogin();
    throw e;
  }
}

function toLogin() {
  forgetAccess();
  const page = /^\/account\/([a-z-]{1,40})$/.exec(location.pathname)?.[1] || 'settings';
  location.assign(`/account/login?next=${encodeURIComponent(page)}&notice=session-ended`);
}

async function call(method, path, body, auth, extra) {
  const send = async () => {
    const headers = { Accept: 'application/json', ...extra };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) headers.Authorization = `Bearer ${await accessToken()}`;
    return fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  let response = await send();
  if (auth && response.status === 401) {
    forgetAccess();
    response = await send();
  }
  if (response.status === 204) return null;
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ---- the session in this tab ----

let refreshing = null;

function storedAccess() {
  try {
    const value = JSON.parse(sessionStorage.getItem(ACCESS_KEY) || 'null');
    return value && value.expiresAt > Date.now() + 30_000 ? value : null;
  } catch { return null; }
}

function forgetAccess() { sessionStorage.removeItem(ACCESS_KEY); }

function keepAccess(session) {
  sessionStorage.setItem(ACCESS_KEY, JSON.stringify({
    token: session.accessToken,
    expiresAt: Date.now() + session.expiresIn * 1000,
    account: session.account,
  }));
}

/** Takes a Session from the API. One that carries its refresh token in the body is moved into the cookie. */
export async function acceptSession(session) {
  if (session.refreshToken) {
    const moved = await api('POST', '/api/token/refresh', { refreshToken: session.refreshToken, useCookie: true });
    session = moved;
  }
  keepAccess(session);
  return session.account;
}

/** A live access token: the one kept in this tab, or a new one from the refresh cookie (one refresh at a time). */
export async function accessToken() {
  const kept = storedAccess();
  if (kept) return kept.token;
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/token/refresh', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
      // No cookie, or a dead session: either way, not signed in.
      if (!response.ok) throw new ApiError(401, { code: 'unauthorized', title: 'Not signed in.' });
      keepAccess(await response.json());
      return storedAccess().token;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** The signed-in account, or null when there is no session (no redirect). */
export async function currentAccount() {
  try {
    await accessToken();
    return await api('GET', '/api/me', undefined, { auth: true, redirect: false });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** The signed-in account, or off to the login page (which comes back here afterwards). */
export async function requireAccount(page) {
  const account = await currentAccount();
  if (!account) location.replace(`/account/login?next=${encodeURIComponent(page)}`);
  return account;
}

export async function signOut() {
  forgetAccess();
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
}

/** Where to go after signing in: only a page of /account/, never another site. */
export function nextPage(fallback = 'settings') {
  const next = new URLSearchParams(location.search).get('next');
  return `/account/${next && /^[a-z-]{1,40}$/.test(next) ? next : fallback}`;
}

// ---- emailed links ----

/**
 * Reads ?token= once and takes it out of the address bar (and so out of history and of anything
 * that reads the URL later). Opening the page consumes nothing: the person presses Continue and
 * the page POSTs the token. Kept in sessionStorage so a reload of this tab still works.
 */
export function takeLinkToken(page) {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY_PREFIX + page, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY_PREFIX + page);
}

export function dropLinkToken(page) { sessionStorage.removeItem(TOKEN_KEY_PREFIX + page); }

// ---- forms and messages ----

export const $ = (selector, root = document) => root.querySelector(selector);

export function show(element, visible = true) { element.hidden = !visible; }

/** Writes a message into a status region (role=status / role=alert in the HTML). */
export function say(element, text, kind = 'info') {
  element.textContent = text;
  element.dataset.kind = kind;
  element.hidden = !text;
}

/** The form's fields as an object (checkboxes as booleans; empty optional fields left out). */
export function values(form) {
  const result = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === 'checkbox') result[field.name] = field.checked;
    else if (field.value.trim() !== '' || field.required) result[field.name] = field.name.toLowerCase().includes('password') ? field.value : field.value.trim();
  }
  return result;
}

/**
 * Runs a form's submit through an async handler: the button is disabled meanwhile, errors from the
 * API go to the form's [role=alert] region and to the fields they name (aria-invalid).
 */
export function onSubmit(form, handler) {
  const alert = form.querySelector('[role=alert]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    for (const field of form.elements) field.removeAttribute?.('aria-invalid');
    if (alert) say(alert, '');
    try {
      await handler(values(form), event.submitter);
    } catch (error) {
      if (alert) say(alert, describe(error), 'error');
      if (error instanceof ApiError) {
        for (const name of Object.keys(error.errors)) form.elements.namedItem(name)?.setAttribute?.('aria-invalid', 'true');
      }
      if (!(error instanceof ApiError)) console.error(error);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}

export function formatDate(value) {
  return value ? new Date(value).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—';
}

/** A new element with text (never HTML: every value from the API goes in as text). */
export function el(tag, text, attributes = {}) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  return element;
}
