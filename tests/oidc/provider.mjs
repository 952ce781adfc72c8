// The OpenID provider the OIDC federation tests (tests/oidc/main.rs) talk to: the npm
// package oidc-provider, configured here. It issues client_credentials access tokens for a
// few resources (RFC 8707): JWTs signed RS256 or ES256, an opaque one for introspection, a
// one-second one, and one for another audience.
//
// Given REDIRECT_URIs, it also signs people in with a browser: the authorization code
// client `keystone-websso` (PKCE, client_secret_basic or _post), a login page that knows one
// account (carol / carol-password), and a consent page with Allow and Deny buttons.
//
//   node provider.mjs PORT KEYS_FILE [REDIRECT_URI...]
//
// KEYS_FILE holds the private JWKS; it is made when missing, so a restart with the same file
// keeps the keys and one with a new file rotates them. Prints "listening" when ready.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const [port, keysFile, ...redirectUris] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

function signingKeys() {
  if (existsSync(keysFile)) return JSON.parse(readFileSync(keysFile, 'utf8'));
  const jwk = (type, options) => generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  const set = {
    keys: [
      { ...jwk('rsa', { modulusLength: 2048 }), kid: `rsa-${randomUUID()}`, use: 'sig' },
      { ...jwk('ec', { namedCurve: 'P-256' }), kid: `ec-${randomUUID()}`, use: 'sig' },
    ],
  };
  writeFileSync(keysFile, JSON.stringify(set));
  return set;
}

const resources = {
  'urn:keystone': { format: 'jwt', alg: 'RS256', ttl: 300 },
  'urn:keystone:es256': { format: 'jwt', alg: 'ES256', ttl: 300 },
  'urn:keystone:opaque': { format: 'opaque', ttl: 300 },
  'urn:keystone:short': { format: 'jwt', alg: 'RS256', ttl: 1 },
  'urn:elsewhere': { format: 'jwt', alg: 'RS256', ttl: 300 },
};

// The one person of the browser logins, and what the ID token says of her.
const accounts = {
  carol: {
    password: 'carol-password',
    claims: {
      preferred_username: 'carol',
      email: 'carol@example.org',
      email_verified: true,
      groups: ['devs', 'testers'],
    },
  },
};

const browserClients = redirectUris.length === 0 ? [] : [
  {
    client_id: 'keystone-websso',
    client_secret: 'keystone-websso-secret',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: redirectUris,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'keystone-websso-post',
    client_secret: 'keystone-websso-post-secret',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: redirectUris,
    token_endpoint_auth_method: 'client_secret_post',
  },
];

const provider = new Provider(issuer, {
  jwks: signingKeys(),
  scopes: ['openid', 'api', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // The claims of the scopes granted go into the ID token itself, as keystone-rs reads it.
  conformIdTokenClaims: false,
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
  clients: [
    ...browserClients,
    {
      client_id: 'keystone',
      client_secret: 'keystone-test-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      // keystoneauth's v3oidc plugins ask for `openid profile` by default (a scope the
      // provider knows but a client is not allowed is refused, not dropped).
      scope: 'openid api profile',
    },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // keystoneauth's v3oidc plugins send no `resource`: the keystone client's tokens are
      // then for keystone (tests/interop/test_oidc.py). The client_secret_post browser
      // client's access tokens are too (JWTs keystone-rs verifies), so that its
      // access_token_claims option has claims to read.
      defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        return ['keystone', 'keystone-websso-post'].includes(client?.clientId)
          ? 'urn:keystone'
          : undefined;
      },
      useGrantedResource: (ctx) => ctx.oidc.client?.clientId === 'keystone-websso-post',
      getResourceServerInfo(ctx, resourceIndicator) {
        const r = resources[resourceIndicator];
        if (!r) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resourceIndicator,
          accessTokenTTL: r.ttl,
          accessTokenFormat: r.format,
          ...(r.format === 'jwt' ? { jwt: { sign: { alg: r.alg } } } : {}),
        };
      },
    },
  },
  // The user attributes a mapping reads, of each JSON type mod_auth_openidc renders.
  extraTokenClaims() {
    return {
      preferred_username: 'ann',
      email: 'ann@example.org',
      email_verified: true,
      groups: ['admins', 'devs'],
      address: { locality: 'Paris', country: 'FR' },
    };
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><title>${escape(title)}</title></head><body>${body}</body></html>`);
}

async function formBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

// The login and consent pages, on oidc-provider's interaction API: GET shows the page the
// pending prompt needs, POST answers it.
async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'Error', 'wrong interaction');
  const { prompt, params, session, grantId } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return page(res, 200, 'Sign in', `<h1>Sign in</h1>
        <form method="post" action="/interaction/${escape(uid)}">
          <label>Username <input name="username" id="username" autocomplete="off"></label>
          <label>Password <input name="password" id="password" type="password"></label>
          <button type="submit" id="sign-in">Sign in</button>
        </form>`);
    }
    return page(res, 200, 'Authorize', `<h1>Let ${escape(params.client_id)} know who you are?</h1>
      <form method="post" action="/interaction/${escape(uid)}">
        <button type="submit" name="decision" value="allow" id="allow">Allow</button>
        <button type="submit" name="decision" value="deny" id="deny">Deny</button>
      </form>`);
  }
  const form = await formBody(req);
  if (prompt.name === 'login') {
    const account = accounts[form.get('username')];
    if (!account || account.password !== form.get('password')) {
      return page(res, 401, 'Sign in', '<p id="wrong">Wrong username or password.</p>');
    }
    return provider.interactionFinished(req, res, { login: { accountId: form.get('username') } }, {
      mergeWithLastSubmission: false,
    });
  }
  if (form.get('decision') !== 'allow') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'the user said no',
    }, { mergeWithLastSubmission: false });
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scope.join(' '));
  }
  return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
    mergeWithLastSubmission: true,
  });
}

const oidc = provider.callback();
createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(req.url);
  if (!match) return oidc(req, res);
  interaction(req, res, match[1]).catch((e) => page(res, 500, 'Error', escape(e.message)));
}).listen(Number(port), '127.0.0.1', () => {
  console.log('listening');
});
