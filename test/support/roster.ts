/**
 * Starts a real Roster (all protocols on one ephemeral port) on a fresh database for one test
 * file, and gives tests what they need to call it as different users.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { pino } from "pino";
import { startRoster, type RunningRoster } from "../../src/app.js";
import { loadConfig } from "../../src/config/load-config.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export const JWT_ISSUER = "https://issuer.roster.test";
export const JWT_AUDIENCE = "roster-api";

export interface TestRoster {
  port: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** PAT of the first administrator (IAM_OWNER), read from the file Roster wrote. */
  adminToken: string;
  /** Connection URL of this Roster's database (for assertions on stored state). */
  databaseUrl: string;
  dataDir: string;
  /** A JWT access token whose subject is `userId`, signed with the configured key. */
  tokenFor(userId: string, claims?: { expiresIn?: string; issuer?: string; audience?: string }): Promise<string>;
  /** A JWT for `userId` signed with a key Roster does not know. */
  foreignTokenFor(userId: string): Promise<string>;
  /** The environment this Roster was started with (to start a second process on the same database). */
  env: Record<string, string>;
  close(): Promise<void>;
}

async function signer(privateKey: CryptoKey, kid: string) {
  return (sub: string, claims: { expiresIn?: string; issuer?: string; audience?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid })
      .setSubject(sub)
      .setIssuer(claims.issuer ?? JWT_ISSUER)
      .setAudience(claims.audience ?? JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(claims.expiresIn ?? "10m")
      .sign(privateKey);
}

export interface TestRosterOptions {
  /** The clock Roster reads (see test/support/clock.ts); default: the system's. */
  now?: () => Date;
  /** Hears the text of every statement Roster sends to its database. */
  onStatement?: (sql: string) => void;
}

export async function startTestRoster(extraEnv: Record<string, string> = {}, options: TestRosterOptions = {}): Promise<TestRoster> {
  const database: TestDatabase = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), "roster-test-"));
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
  const jwksFile = path.join(dataDir, "jwks.json");
  await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
  const foreign = await generateKeyPair("ES256");

  const env: Record<string, string> = {
    PORT: "0",
    ROSTER_HOST: "127.0.0.1",
    DATABASE_URL: database.url,
    ROSTER_DATA_DIR: dataDir,
    ROSTER_LOG_LEVEL: "silent",
    ROSTER_BCRYPT_COST: "4",
    ROSTER_JWT_ISSUER: JWT_ISSUER,
    ROSTER_JWT_AUDIENCE: JWT_AUDIENCE,
    ROSTER_JWT_JWKS_FILE: jwksFile,
    ROSTER_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
    ...extraEnv,
  };
  const config = loadConfig(env);
  let roster: RunningRoster;
  try {
    roster = await startRoster(config, pino({ level: "silent" }), { now: options.now, onStatement: options.onStatement });
  } catch (e) {
    await database.drop();
    throw e;
  }
  const adminToken = (await readFile(config.firstAdminPatFile, "utf8")).trim();
  const sign = await signer(privateKey, "test-key");
  const signForeign = await signer(foreign.privateKey, "test-key");
  return {
    port: roster.port,
    baseUrl: `http://127.0.0.1:${roster.port}`,
    adminToken,
    databaseUrl: database.url,
    dataDir,
    tokenFor: (userId, claims) => sign(userId, claims),
    foreignTokenFor: (userId) => signForeign(userId),
    env,
    async close() {
      await roster.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
