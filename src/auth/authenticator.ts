import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { Errors } from "../domain/errors.js";
import type { Principal } from "../domain/principal.js";
import type { PrincipalUser, Store } from "../domain/store.js";
import { PrincipalCache, type PrincipalCacheOptions } from "./principal-cache.js";
import { createJwtVerifier, isCompactJws, type JwtVerifier } from "./jwt.js";
import { hashToken } from "./tokens.js";

export type AuthLogger = Pick<Logger, "debug" | "warn">;

export interface AuthHeaders {
  /** The `authorization` header or metadata value; null when absent. */
  authorization: string | null;
  /** The `x-zitadel-orgid` header or metadata value; null or "" when absent. */
  orgId: string | null;
}

export interface Authenticator {
  /** Turns the request's headers into the caller (auth.md §1, §2, §4), or throws a DomainError. */
  authenticate(headers: AuthHeaders): Promise<Principal>;
}

export interface AuthenticatorDeps {
  store: Store;
  config: Config;
  logger: AuthLogger;
  /** The clock for token expiry (default: the system's). */
  now?: () => Date;
}

const PRINCIPAL_CACHE_DEFAULTS: PrincipalCacheOptions = { maxEntries: 10_000, ttlMs: 1_000 };

const BEARER = "Bearer ";

/** Throws why a valid token's user may not act. */
type Refusal = () => never;

/**
 * Authentication with a principal cache (principal-cache.ts): a hit costs no statement, a miss
 * one (the token with its user and memberships). The store tells the cache about every change
 * this process commits; `invalidate` is for the changes of other processes (LISTEN/NOTIFY).
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator & { invalidate(userId: string | undefined): void } {
  const { store, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const jwt = createJwtVerifier(deps.config.jwt, now);
  const cache = new PrincipalCache(PRINCIPAL_CACHE_DEFAULTS);
  store.onPrincipalChange((userId) => cache.invalidate(userId));

  /**
   * The caller's principal for a personal access token, or (a user that is unknown or not
   * active) the function that throws why not, so that the caller keeps the order of the checks.
   * Never logs the token itself.
   */
  async function fromPat(token: string): Promise<Principal | Refusal> {
    const hash = hashToken(token);
    const key = `p:${hash.toString("hex")}`;
    const cached = cache.get(key);
    if (cached) {
      if (cached.expiresAt && cached.expiresAt.getTime() <= now().getTime()) {
        return rejectToken(logger, "expired personal access token");
      }
      return cached.principal;
    }
    const ticket = cache.begin();
    const found = await store.read.findTokenPrincipal(hash);
    if (!found) return rejectToken(logger, "unknown personal access token");
    const { token: record, user } = found;
    if (record.revokedAt) return rejectToken(logger, "revoked personal access token", { tokenId: record.id });
    if (record.expiresAt && record.expiresAt.getTime() <= now().getTime()) {
      return rejectToken(logger, "expired personal access token", { tokenId: record.id });
    }
    const principal = activePrincipal(user, record.userId);
    if (typeof principal !== "function") cache.set(key, { principal, expiresAt: record.expiresAt }, ticket);
    return principal;
  }

  /** The caller's principal for a verified JWT's subject, or the refusal (as fromPat). */
  async function fromJwt(token: string): Promise<Principal | Refusal> {
    const userId = await userIdFromJwt(jwt, token, logger);
    const key = `j:${userId}`;
    const cached = cache.get(key);
    if (cached) return cached.principal;
    const ticket = cache.begin();
    const principal = activePrincipal(await store.read.getPrincipalUser(userId), userId);
    if (typeof principal !== "function") cache.set(key, { principal, expiresAt: null }, ticket);
    return principal;
  }

  function activePrincipal(user: PrincipalUser | undefined, userId: string): Principal | Refusal {
    if (!user) return () => rejectToken(logger, "token of an unknown user", { userId });
    const state = user.state;
    if (state !== "active") return () => rejectToken(logger, "token of a user that is not active", { userId, state });
    return { userId: user.id, orgId: user.orgId, memberships: user.memberships };
  }

  return {
    async authenticate({ authorization, orgId }) {
      const token = bearerToken(authorization);
      const contextOrgId = orgId ? orgId : undefined;
      // HTTP forbids NUL in header values; should one arrive anyway, it names no organization
      const badOrg = contextOrgId?.includes("\u0000") ?? false;
      // the token first, then the organization's form, the user, the organization's existence
      const [principal, org] = await Promise.all([
        isCompactJws(token) ? fromJwt(token) : fromPat(token),
        contextOrgId === undefined || badOrg ? Promise.resolve(undefined) : store.read.getOrg(contextOrgId),
      ]);
      if (badOrg) throw Errors.orgNotExisting();
      if (typeof principal === "function") return principal();
      if (contextOrgId !== undefined && !org) throw Errors.orgNotExisting();
      return principal;
    },
    invalidate: (userId) => cache.invalidate(userId),
  };
}

/** Extracts the token from `Bearer <token>`; the prefix must open the value and occur once. */
export function bearerToken(authorization: string | null): string {
  if (authorization === null || authorization === "") throw Errors.authHeaderMissing();
  const parts = authorization.split(BEARER);
  if (parts.length !== 2 || parts[0] !== "") throw Errors.invalidAuthHeader();
  const token = parts[1];
  // no stored token holds a NUL, and the store's text columns cannot even be asked about one
  if (token === "" || token.includes("\u0000")) throw Errors.tokenInvalid();
  return token;
}

async function userIdFromJwt(jwt: JwtVerifier | undefined, token: string, logger: AuthLogger): Promise<string> {
  if (!jwt) return rejectToken(logger, "JWT presented but JWT access tokens are not configured");
  try {
    return await jwt.verify(token);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (isKeySetFailure(code)) {
      // The deployment's problem, not the caller's: make it visible to operators.
      logger.warn({ err: { name: (err as Error).name, code, message: (err as Error).message } }, "JWT key set unavailable");
    }
    return rejectToken(logger, "JWT rejected", { code });
  }
}

/** Fetching or parsing the key set failed (not a fault of the presented token). */
function isKeySetFailure(code: unknown): boolean {
  return code === "ERR_JWKS_TIMEOUT" || code === "ERR_JWKS_INVALID" || code === "ERR_JOSE_GENERIC" || code === undefined;
}

function rejectToken(logger: AuthLogger, reason: string, context: Record<string, unknown> = {}): never {
  logger.debug({ ...context, reason }, "authentication failed");
  throw Errors.tokenInvalid();
}
