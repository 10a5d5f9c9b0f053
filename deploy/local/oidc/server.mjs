// The OpenID Connect provider that Flowsvault's tests and `make run` sign in with: a real,
// certified implementation (oidc-provider) on 127.0.0.1 that asks nobody anything.
//
// - Every authorization request signs in at once, as the account named by its
//   login_hint (a-z 0-9 . _ -, at most 64 characters), or as `alice` without one; consent
//   is always granted. A client that follows redirects with a cookie jar (curl -L, a
//   browser) ends at its redirect_uri with `code` and `state`.
// - Open dynamic client registration (POST /reg, no initial access token): each test
//   registers a client for the redirect URI of its own gateway on its own port.
// - One static client for `make run`: flowsvault-local.
// - Authorization code flow only, PKCE with S256 required, scopes openid email profile.
//   email, name and picture are in the ID token as well as in userinfo.
// - Everything lives in memory and the signing key is new on each start: a restart
//   forgets every client, session and token.
//
// Settings (environment): FLOWSVAULT_OIDC_PORT (default 19400),
// FLOWSVAULT_OIDC_CLIENT_SECRET, FLOWSVAULT_OIDC_REDIRECT_URI. The issuer is
// http://127.0.0.1:PORT. Started and stopped by deploy/local/oidc.sh.

import { generateKeyPairSync } from 'node:crypto';

// oidc-provider 9 prints "Unsupported runtime" when imported on Node 20 (it asks for 22+,
// yet its package declares no engines and it runs well on 20, which these machines have).
// Drop that one line so the log holds only what matters; any other warning still shows.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('Unsupported runtime')) warn(...args);
};
const { default: Provider, interactionPolicy } = await import('oidc-provider');
// The library's own in-memory store. Handing it over as a factory (rather than leaving
// `adapter` unset) keeps it from warning that memory is for development only: we know.
const { createMemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js');
console.warn = warn;

const port = Number(process.env.FLOWSVAULT_OIDC_PORT || 19400);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`FLOWSVAULT_OIDC_PORT is not a port number: ${process.env.FLOWSVAULT_OIDC_PORT}`);
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const ACCOUNT_ID = /^[a-z0-9._-]{1,64}$/;

// A fresh RS256 key on each start: the package's built-in development keys are public and
// make it warn, and nothing needs a key to survive a restart.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

function account(id) {
  return {
    sub: id,
    email: `${id}@example.test`,
    email_verified: true,
    name: id.charAt(0).toUpperCase() + id.slice(1),
    picture: `${issuer}/pictures/${id}.png`,
  };
}

// The login prompt also fires when the session belongs to another account than the
// login_hint names, so that a test (or a browser) can switch users with login_hint alone.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'login_hint_other_account',
  'login_hint names another account than the signed-in one',
  (ctx) => {
    const hint = ctx.oidc.params.login_hint;
    return Boolean(hint) && hint !== ctx.oidc.session.accountId;
  },
));

const provider = new Provider(issuer, {
  adapter: createMemoryAdapter(),
  jwks: { keys: [signingKey] },
  clients: [{
    client_id: 'flowsvault-local',
    client_secret: process.env.FLOWSVAULT_OIDC_CLIENT_SECRET || 'flowsvault-local-secret',
    redirect_uris: [
      process.env.FLOWSVAULT_OIDC_REDIRECT_URI || 'http://127.0.0.1:8080/api/auth/callback/local',
    ],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // A client with either secret method may authenticate with the other one as well.
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  pkce: { required: () => true }, // oidc-provider 9 knows only S256
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture'],
  },
  conformIdTokenClaims: false, // the scope's claims go into the ID token, not only userinfo
  // The package's defaults (seconds), written out so that it does not print a notice for
  // each one it uses.
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 60 * 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 14 * 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  features: {
    devInteractions: { enabled: false }, // its login page would need a person
    registration: { enabled: true, initialAccessToken: false },
  },
  // Not the default `_session`/`_interaction`: cookies belong to the host, not the port,
  // so these land next to the gateway's fv_session/fv_signin on 127.0.0.1.
  cookies: {
    names: {
      session: 'oidc_op_session',
      interaction: 'oidc_op_interaction',
      resume: 'oidc_op_interaction_resume',
    },
  },
  // Browsers may call userinfo from the origin of one of the client's redirect URIs
  // (what the default does, without its notice that it should be replaced).
  clientBasedCORS: (ctx, origin, client) =>
    client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
  // Errors a browser lands on, as plain text: readable in curl output and test logs.
  renderError(ctx, out) {
    ctx.type = 'text/plain';
    ctx.body = Object.entries(out).map(([key, value]) => `${key}: ${value}\n`).join('');
  },
  interactions: {
    policy,
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, id) {
    return { accountId: id, claims: async () => account(id) };
  },
  // Consent is never asked: the grant always holds what the request asks for.
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    let grant = grantId && await oidc.provider.Grant.find(grantId);
    if (!grant || grant.accountId !== oidc.session.accountId) {
      grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    }
    grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...oidc.requestParamClaims]);
    await grant.save();
    return grant;
  },
});

// oidc-provider checks a static client's metadata only when the client is first used;
// check it now, so that a bad FLOWSVAULT_OIDC_REDIRECT_URI stops the start instead.
try {
  await provider.Client.find('flowsvault-local');
} catch (err) {
  console.error(`static client flowsvault-local is invalid: ${err.message} (${err.error_description})`);
  process.exit(1);
}

// The interaction "page": answers the login prompt at once and sends the browser back.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();

  const interaction = await provider.interactionDetails(ctx.req, ctx.res);
  const hint = interaction.params.login_hint;
  let result;
  if (hint && !ACCOUNT_ID.test(hint)) {
    result = { error: 'invalid_request', error_description: 'login_hint must be 1-64 characters of a-z 0-9 . _ -' };
  } else {
    const accountId = hint || 'alice';
    // Signed in as someone else: end that session here. Otherwise oidc-provider would stop
    // at its "sign out first?" form, which a client that only follows redirects cannot post.
    if (interaction.session && interaction.session.accountId !== accountId) {
      await (await provider.Session.findByUid(interaction.session.uid))?.destroy();
      delete interaction.session;
      await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    }
    result = { login: { accountId } };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

// oidc-provider answers every error itself; print only those that are its own fault.
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
