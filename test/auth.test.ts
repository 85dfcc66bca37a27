import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import pino from "pino";
import { createTestDatabase } from "./support/database.js";
import { openDatabase, type OpenedDatabase } from "../src/store/database.js";
import { migrateToLatest } from "../src/store/migrate.js";
import { createStore } from "../src/store/kysely-store.js";
import type { Store, UserRecord, UserState } from "../src/domain/store.js";
import type { Config } from "../src/config/config.js";
import { createAuthenticator, type AuthHeaders } from "../src/auth/authenticator.js";
import { ensureInstance, issuePersonalAccessToken } from "../src/auth/bootstrap.js";
import { DomainError } from "../src/domain/errors.js";
import { newId } from "../src/domain/ids.js";
import { createPermissionChecker } from "../src/domain/permissions.js";

const logger = pino({ level: "silent" });
const ISSUER = "https://issuer.roster.test";
const AUDIENCE = "roster-api";

function testConfig(dir: string, jwt: Partial<Config["jwt"]> = {}): Config {
  return {
    port: 0,
    host: "127.0.0.1",
    databaseUrl: undefined,
    database: { connectTimeoutMs: 5000, statementTimeoutMs: 10000, idleInTransactionTimeoutMs: 10000, startupTimeoutMs: 0 },
    dataDir: dir,
    logLevel: "silent",
    corsOrigins: [],
    jwt: { issuer: undefined, audience: undefined, jwksUrl: undefined, jwksFile: undefined, clockSkewSeconds: 30, ...jwt },
    firstAdminPatFile: join(dir, "secrets", "first-admin.pat"),
    masterKeyBase64: undefined,
    bcryptCost: 4,
    bcryptMaxImportCost: 14,
    maxRequestBytes: 1 << 20,
    maxConnections: 1024,
    shutdownGraceSeconds: 25,
    codes: {
      email: { length: 6, expirySeconds: 3600 },
      phone: { length: 6, expirySeconds: 3600 },
      passwordReset: { length: 6, expirySeconds: 3600 },
    },
    defaultUrlTemplates: { emailVerification: "https://x/{{.Code}}", passwordReset: "https://x/{{.Code}}" },
    passwordPolicy: { minLength: 8, hasLowercase: false, hasUppercase: false, hasNumber: false, hasSymbol: false },
  };
}

/** The error an authentication attempt fails with, as "Kind:ID:text". */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    return `${err.kind}:${err.id}:${err.text}`;
  }
  return assert.fail("expected authentication to fail");
}

const MISSING = "Unauthenticated::auth header missing";
const BAD_HEADER = "Unauthenticated:AUTH-7fs1e:invalid auth header";
const INVALID = "Unauthenticated:ROSTER-tok01:Token is invalid";
const NO_ORG = "PermissionDenied:AUTH-Bs7Ds:Organisation doesn't exist";

function human(orgId: string, username: string, state: UserState = "active"): UserRecord {
  const now = new Date();
  return {
    id: newId(), orgId, type: "human", state, username,
    givenName: "Given", familyName: "Family", nickName: "", displayName: "Given Family", preferredLanguage: "en", gender: 0,
    email: `${username}@example.com`, emailVerified: true, phone: "", phoneVerified: false,
    passwordHash: null, passwordChangeRequired: false, passwordChangedAt: null,
    machineName: "", machineDescription: "", sequence: 1, createdAt: now, changedAt: now,
  };
}

describe("identity and bootstrap against PostgreSQL", () => {
  let testDb: { url: string; drop(): Promise<void> };
  let dir: string;
  let opened: OpenedDatabase[] = [];
  let store: Store;
  let config: Config;
  let defaultOrgId: string;
  let adminToken: string;

  async function openStore(): Promise<Store> {
    const o = await openDatabase({ databaseUrl: testDb.url, dataDir: dir, maxConnections: 4 });
    opened.push(o);
    return createStore(o.db);
  }

  async function addUser(state: UserState = "active"): Promise<{ user: UserRecord; token: string }> {
    const user = human(defaultOrgId, `u${newId()}`, state);
    await store.transaction((tx) => tx.insertUser(user));
    const { token } = await issuePersonalAccessToken(store, user.id);
    return { user, token };
  }

  before(async () => {
    testDb = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), "roster-auth-"));
    const first = await openDatabase({ databaseUrl: testDb.url, dataDir: dir, maxConnections: 4 });
    opened.push(first);
    await migrateToLatest(first.db);
    store = createStore(first.db);
    config = testConfig(dir);
  });

  after(async () => {
    for (const o of opened) await o.close();
    await testDb?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe("ensureInstance", () => {
    it("creates exactly one instance when two processes start at once", async () => {
      const [storeA, storeB] = [await openStore(), await openStore()];
      const [a, b] = await Promise.all([
        ensureInstance({ store: storeA, config, logger }),
        ensureInstance({ store: storeB, config, logger }),
      ]);
      assert.deepEqual([a.created, b.created].sort(), [false, true]);
      assert.equal(a.defaultOrgId, b.defaultOrgId);
      defaultOrgId = a.defaultOrgId;

      const admins = await opened[0].db.selectFrom("users").select(["id", "type", "state", "org_id", "sequence"]).where("username", "=", "admin").execute();
      assert.equal(admins.length, 1);
      assert.equal(admins[0].type, "machine");
      assert.equal(admins[0].state, "active");
      assert.equal(admins[0].org_id, defaultOrgId);
      assert.equal(Number(admins[0].sequence), 1);
      const orgs = await opened[0].db.selectFrom("organizations").select("id").execute();
      assert.deepEqual(orgs.map((o) => o.id), [defaultOrgId]);
      const tokens = await opened[0].db.selectFrom("tokens").select("user_id").execute();
      assert.deepEqual(tokens.map((t) => t.user_id), [admins[0].id]);

      const events = await store.read.listEvents(admins[0].id);
      assert.deepEqual(events.map((e) => [e.type, e.sequence, e.orgId]), [["user.machine.added", 1, defaultOrgId]]);
    });

    it("writes the admin token once, mode 0600, and it authenticates as IAM_OWNER of the instance", async () => {
      const info = await stat(config.firstAdminPatFile);
      assert.equal(info.mode & 0o777, 0o600);
      adminToken = (await readFile(config.firstAdminPatFile, "utf8")).trim();
      assert.ok(adminToken.length >= 43);

      const auth = createAuthenticator({ store, config, logger });
      const principal = await auth.authenticate({ authorization: `Bearer ${adminToken}`, orgId: null });
      assert.equal(principal.orgId, defaultOrgId);
      assert.deepEqual(principal.memberships.map((m) => [m.scope, m.roles]), [["instance", ["IAM_OWNER"]]]);
      const checker = createPermissionChecker();
      assert.equal(checker.holds(principal, "user.write", newId()), true);
      assert.equal(checker.holdsOnInstance(principal, "org.create"), true);
    });

    it("creates nothing on a restart and leaves the token file alone", async () => {
      await rm(config.firstAdminPatFile);
      const again = await ensureInstance({ store: await openStore(), config, logger });
      assert.deepEqual(again, { defaultOrgId, created: false });
      await assert.rejects(stat(config.firstAdminPatFile), { code: "ENOENT" });
      const count = await opened[0].db.selectFrom("users").select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1);
    });
  });

  describe("authenticate with personal access tokens", () => {
    const headers = (authorization: string | null, orgId: string | null = null): AuthHeaders => ({ authorization, orgId });

    it("refuses missing and malformed headers", async () => {
      const auth = createAuthenticator({ store, config, logger });
      assert.equal(await failure(auth.authenticate(headers(null))), MISSING);
      assert.equal(await failure(auth.authenticate(headers(`bearer ${adminToken}`))), BAD_HEADER);
      assert.equal(await failure(auth.authenticate(headers(`Basic ${adminToken}`))), BAD_HEADER);
      assert.equal(await failure(auth.authenticate(headers(`Bearer ${adminToken} Bearer ${adminToken}`))), BAD_HEADER);
      assert.equal(await failure(auth.authenticate(headers("Bearer "))), INVALID);
    });

    it("refuses unknown, expired and revoked tokens", async () => {
      const auth = createAuthenticator({ store, config, logger });
      assert.equal(await failure(auth.authenticate(headers("Bearer roster_pat_unknown"))), INVALID);
      assert.equal(await failure(auth.authenticate(headers(`Bearer ${adminToken}x`))), INVALID);

      const { user } = await addUser();
      const expired = await issuePersonalAccessToken(store, user.id, new Date(Date.now() - 1000));
      assert.equal(await failure(auth.authenticate(headers(`Bearer ${expired.token}`))), INVALID);
      const future = await issuePersonalAccessToken(store, user.id, new Date(Date.now() + 3_600_000));
      assert.equal((await auth.authenticate(headers(`Bearer ${future.token}`))).userId, user.id);

      const revoked = await issuePersonalAccessToken(store, user.id);
      await opened[0].db.updateTable("tokens").set({ revoked_at: new Date() }).where("id", "=", revoked.id).execute();
      assert.equal(await failure(auth.authenticate(headers(`Bearer ${revoked.token}`))), INVALID);
    });

    it("accepts an active user's token, with the user's organization and no memberships", async () => {
      const auth = createAuthenticator({ store, config, logger });
      const { user, token } = await addUser();
      const principal = await auth.authenticate(headers(`Bearer ${token}`));
      assert.deepEqual(principal, { userId: user.id, orgId: defaultOrgId, memberships: [] });
    });

    for (const state of ["locked", "inactive", "deleted", "initial"] as const) {
      it(`refuses the token of a ${state} user`, async () => {
        const auth = createAuthenticator({ store, config, logger });
        const { user, token } = await addUser();
        assert.equal((await auth.authenticate(headers(`Bearer ${token}`))).userId, user.id);
        await store.transaction(async (tx) => {
          const current = await tx.lockUser(user.id);
          await tx.updateUser({ ...current!, state, sequence: current!.sequence + 1, changedAt: new Date() });
        });
        assert.equal(await failure(auth.authenticate(headers(`Bearer ${token}`))), INVALID);
      });
    }

    it("checks that x-zitadel-orgid names an existing organization; empty counts as absent", async () => {
      const auth = createAuthenticator({ store, config, logger });
      const bearer = `Bearer ${adminToken}`;
      assert.equal(await failure(auth.authenticate(headers(bearer, newId()))), NO_ORG);
      assert.equal(await failure(auth.authenticate(headers(bearer, "not-an-id"))), NO_ORG);
      assert.equal((await auth.authenticate(headers(bearer, defaultOrgId))).orgId, defaultOrgId);
      assert.equal((await auth.authenticate(headers(bearer, ""))).orgId, defaultOrgId);

      const other = newId();
      await store.transaction((tx) => tx.insertOrg({ id: other, name: `Other ${other}`, createdAt: new Date() }));
      const principal = await auth.authenticate(headers(bearer, other));
      assert.equal(principal.orgId, defaultOrgId, "the header selects a context, not the caller's organization");
    });

    it("authenticates the token before checking the organization header", async () => {
      const auth = createAuthenticator({ store, config, logger });
      assert.equal(await failure(auth.authenticate(headers("Bearer roster_pat_unknown", newId()))), INVALID);
    });
  });

  describe("authenticate with JWT access tokens", () => {
    let signingKey: CryptoKey;
    let strangerKey: CryptoKey;
    let jwtConfig: Config;
    let user: UserRecord;

    before(async () => {
      const pair = await generateKeyPair("ES256");
      signingKey = pair.privateKey;
      strangerKey = (await generateKeyPair("ES256")).privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
      const jwksFile = join(dir, "jwks.json");
      await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
      jwtConfig = testConfig(dir, { issuer: ISSUER, audience: AUDIENCE, jwksFile, clockSkewSeconds: 30 });
      user = (await addUser()).user;
    });

    interface Claims {
      sub?: string;
      iss?: string;
      aud?: string | string[];
      exp?: number;
      nbf?: number;
      kid?: string;
      key?: CryptoKey;
    }
    function sign(c: Claims = {}): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: c.kid ?? "test-key" })
        .setSubject(c.sub ?? user.id)
        .setIssuer(c.iss ?? ISSUER)
        .setAudience(c.aud ?? [AUDIENCE, "other-api"])
        .setIssuedAt(now)
        .setExpirationTime(c.exp ?? now + 300);
      if (c.nbf !== undefined) jwt.setNotBefore(c.nbf);
      return jwt.sign(c.key ?? signingKey);
    }

    it("accepts a token signed with a key of the key set", async () => {
      const auth = createAuthenticator({ store, config: jwtConfig, logger });
      const principal = await auth.authenticate({ authorization: `Bearer ${await sign()}`, orgId: null });
      assert.deepEqual(principal, { userId: user.id, orgId: defaultOrgId, memberships: [] });
    });

    it("tolerates clock skew within the configured limit", async () => {
      const auth = createAuthenticator({ store, config: jwtConfig, logger });
      const now = Math.floor(Date.now() / 1000);
      const token = await sign({ exp: now - 5, nbf: now + 5 });
      assert.equal((await auth.authenticate({ authorization: `Bearer ${token}`, orgId: null })).userId, user.id);
    });

    it("refuses wrong issuer, wrong audience, expiry, future nbf, unknown keys and unknown subjects", async () => {
      const auth = createAuthenticator({ store, config: jwtConfig, logger });
      const now = Math.floor(Date.now() / 1000);
      const cases: Record<string, Promise<string>> = {
        "wrong issuer": sign({ iss: "https://evil.test" }),
        "wrong audience": sign({ aud: "other-api" }),
        expired: sign({ exp: now - 120 }),
        "not yet valid": sign({ nbf: now + 120 }),
        "unknown kid": sign({ kid: "other-key", key: strangerKey }),
        "wrong key under a known kid": sign({ key: strangerKey }),
        "unknown subject": sign({ sub: newId() }),
      };
      for (const [name, token] of Object.entries(cases)) {
        assert.equal(await failure(auth.authenticate({ authorization: `Bearer ${await token}`, orgId: null })), INVALID, name);
      }
    });

    it("refuses JWTs when JWT access tokens are not configured", async () => {
      const auth = createAuthenticator({ store, config, logger });
      assert.equal(await failure(auth.authenticate({ authorization: `Bearer ${await sign()}`, orgId: null })), INVALID);
    });
  });
});
