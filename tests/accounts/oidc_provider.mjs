// A real OpenID Connect provider for the sign-in tests: node's oidc-provider on
// 127.0.0.1, with static clients, test accounts that sign in with a password on a plain
// login page, consent taken as given, and PKCE required. Run by
// tests/accounts/oidc_support.py.
//
//   node oidc_provider.mjs --port PORT --config PATH
//
// The config (JSON): {"clients": [{"client_id", "client_secret", "redirect_uris"}],
// "accounts": {"<login>": {"password", "claims": {"email", "email_verified", ...}}},
// "tamper": null | "audience" | "nonce" | "subject"}. "audience" and "nonce" make the token
// endpoint answer with an id_token, signed with the provider's own key, for another
// audience or with another nonce: what an attacker replaying a token meant elsewhere would
// hand over; "subject" makes the userinfo answer speak of another user than the id_token.
//
// stdout: "ready <issuer>" once it listens, then one JSON line a request:
// {"method", "path", "query"}.
import fs from "node:fs";
import { parseArgs } from "node:util";

import * as jose from "jose";
import Provider from "oidc-provider";

const { values: args } = parseArgs({
  options: { port: { type: "string" }, config: { type: "string" } },
});
const config = JSON.parse(fs.readFileSync(args.config, "utf8"));
const issuer = `http://127.0.0.1:${args.port}`;

const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig" };

const accounts = config.accounts;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    ...client,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_post",
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: ["oidc-test-provider-cookie-key"] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["preferred_username", "name"],
  },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) {
      return undefined;
    }
    return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
  // First-party clients: the scopes asked for are granted without a consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}">
<p><label for="login">Login</label> <input id="login" name="login" autocomplete="username"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password"></p>
<p><button type="submit">Sign in</button></p>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

async function tamperedIdToken(idToken, what) {
  const claims = jose.decodeJwt(idToken);
  if (what === "audience") {
    claims.aud = "a-client-of-someone-else";
  } else if (what === "nonce") {
    claims.nonce = "a-nonce-of-another-sign-in";
  }
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: signingKey.kid, typ: "JWT" })
    .sign(privateKey);
}

provider.use(async (ctx, next) => {
  process.stdout.write(
    `${JSON.stringify({ method: ctx.method, path: ctx.path, query: ctx.querystring })}\n`,
  );
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match) {
    await next();
    if (ctx.path === "/token" && ["audience", "nonce"].includes(config.tamper) && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: await tamperedIdToken(ctx.body.id_token, config.tamper) };
    }
    if (ctx.path === "/me" && config.tamper === "subject" && ctx.body?.sub) {
      ctx.body = { ...ctx.body, sub: "someone-else" };
    }
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === "GET") {
    ctx.type = "html";
    ctx.body = loginPage(details.uid);
    return;
  }
  const form = await readForm(ctx.req);
  const login = form.get("login") || "";
  const account = accounts[login];
  if (!account || account.password !== form.get("password")) {
    ctx.type = "html";
    ctx.body = loginPage(details.uid, "Wrong login or password.");
    return;
  }
  const returnTo = await provider.interactionResult(
    ctx.req,
    ctx.res,
    { login: { accountId: login } },
    { mergeWithLastSubmission: false },
  );
  ctx.status = 303;
  ctx.redirect(returnTo);
});

provider.listen(Number(args.port), "127.0.0.1", () => {
  process.stdout.write(`ready ${issuer}\n`);
});
