// The OpenID provider the OIDC federation tests (tests/oidc/main.rs) talk to: the npm
// package oidc-provider, configured here. It issues client_credentials access tokens for a
// few resources (RFC 8707): JWTs signed RS256 or ES256, an opaque one for introspection, a
// one-second one, and one for another audience.
//
//   node provider.mjs PORT KEYS_FILE
//
// KEYS_FILE holds the private JWKS; it is made when missing, so a restart with the same file
// keeps the keys and one with a new file rotates them. Prints "listening" when ready.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const [port, keysFile] = process.argv.slice(2);
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

const provider = new Provider(issuer, {
  jwks: signingKeys(),
  scopes: ['openid', 'api'],
  clients: [
    {
      client_id: 'keystone',
      client_secret: 'keystone-test-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      // openid: keystoneauth's v3oidc plugins ask for `openid profile` by default.
      scope: 'openid api',
    },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // keystoneauth's v3oidc plugins send no `resource`: the keystone client's tokens are
      // then for keystone (tests/interop/test_oidc.py).
      defaultResource(ctx, client, oneOf) {
        return oneOf ?? (client?.clientId === 'keystone' ? 'urn:keystone' : undefined);
      },
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

createServer(provider.callback()).listen(Number(port), '127.0.0.1', () => {
  console.log('listening');
});
