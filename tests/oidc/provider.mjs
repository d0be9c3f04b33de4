// A real OpenID Connect provider (oidc-provider) for the external sign-in tests and for trying the
// flow by hand. Not for production: fixed client secrets, an in-memory store, a key made at start.
//
//   node tests/oidc/provider.mjs <port> [appBaseUrl]
//
// Issuer http://127.0.0.1:<port>. Two clients, both redirecting to the app's callbacks under
// appBaseUrl (default http://localhost:7071): "account-functions" (client_secret_basic, app provider
// name "test") and "account-functions-post" (client_secret_post, app provider name "testpost").
//
// No login page: the first GET of /interaction/<uid> signs in whoever its query names, so a test
// drives the whole redirect dance with plain HTTP:
//   ?account=verified | unverified                  one of the fixed accounts below
//   ?sub=…&email=…&email_verified=true|false&given_name=…&family_name=…   an ad-hoc account
//   ?deny=1                                         the person refuses: error=access_denied
// The consent step that follows is granted at once.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const appBase = (process.argv[3] ?? 'http://localhost:7071').replace(/\/$/, '');
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node tests/oidc/provider.mjs <port> [appBaseUrl]');
  process.exit(2);
}

const SECRET = 'test-client-secret-not-for-production';

const accounts = new Map([
  ['verified-user', { email: 'verified@provider.example', email_verified: true, given_name: 'Vera', family_name: 'Fied' }],
  ['unverified-user', { email: 'unverified@provider.example', email_verified: false, given_name: 'Una' }],
]);
const fixed = { verified: 'verified-user', unverified: 'unverified-user' };

const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'account-functions',
      client_secret: SECRET,
      redirect_uris: [`${appBase}/api/login/external/test/callback`],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    {
      client_id: 'account-functions-post',
      client_secret: SECRET,
      redirect_uris: [`${appBase}/api/login/external/testpost/callback`],
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'] },
  // Scope claims in the id_token itself (as the big providers do), not only at userinfo.
  conformIdTokenClaims: false,
  cookies: { keys: ['test-cookie-key-not-for-production'] },
  jwks: { keys: [{ ...key, kid: randomUUID(), use: 'sig', alg: 'RS256' }] },
  findAccount: async (_ctx, id) => {
    const claims = accounts.get(id);
    return claims && { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
});

async function interaction(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const details = await provider.interactionDetails(req, res);
  const { prompt } = details;
  if (prompt.name === 'login') {
    const q = url.searchParams;
    if (q.get('deny') === '1') {
      return provider.interactionFinished(req, res,
        { error: 'access_denied', error_description: 'The person said no.' }, { mergeWithLastSubmission: false });
    }
    let accountId = fixed[q.get('account')];
    if (!accountId && q.get('sub')) {
      accountId = q.get('sub');
      accounts.set(accountId, {
        ...(q.get('email') && { email: q.get('email') }),
        ...(q.has('email_verified') && { email_verified: q.get('email_verified') === 'true' }),
        ...(q.get('given_name') && { given_name: q.get('given_name') }),
        ...(q.get('family_name') && { family_name: q.get('family_name') }),
      });
    }
    if (!accountId) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end('Name the account: ?account=verified|unverified, or ?sub=…&email=…&email_verified=…\n');
    }
    return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  res.writeHead(400, { 'content-type': 'text/plain' });
  res.end(`Unexpected prompt ${prompt.name}\n`);
}

const callback = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${err.name}: ${err.message}\n`);
    });
  } else {
    callback(req, res);
  }
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on http://127.0.0.1:${port}`));
