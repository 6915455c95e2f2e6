// A real OpenID provider for the tests: oidc-provider, the certified Node.js implementation,
// started by tests/oidc_provider.py with the path of a JSON settings file:
//   { "issuer": "http://127.0.0.1:PORT", "port": PORT, "clients": [ ...client metadata... ] }
//
// Its development login pages (devInteractions) accept any login name and any password: the
// login name is the account's subject. Test accounts are added while it runs, by
//   POST /_test/accounts  {"sub": "...", "claims": {"email": "..."}, "userinfoOnly": false}
// With userinfoOnly the ID token carries only the subject and the other claims come from the
// userinfo endpoint (as some providers do). Clients may also register themselves (RFC 7591),
// so a test served on a port of its own can have a redirect URI of its own.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(settings.issuer, {
  clients: settings.clients,
  jwks: { keys: [signingKey] },
  // Plain http on the loopback address: SameSite=None cookies would need Secure.
  cookies: {
    keys: ['incidents-test-cookie-key'],
    long: { sameSite: 'lax' },
    short: { sameSite: 'lax' },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The ID token carries the claims of the granted scopes (as Entra ID and Keycloak do),
  // unless the account says userinfoOnly.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims(use) {
        if (use === 'id_token' && account.userinfoOnly) return { sub };
        return { ...account.claims, sub };
      },
    };
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/_test/accounts' && ctx.method === 'POST') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const account = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    accounts.set(account.sub, { claims: account.claims || {}, userinfoOnly: Boolean(account.userinfoOnly) });
    ctx.status = 204;
    return;
  }
  await next();
});

provider.listen(settings.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${settings.issuer}`);
});
