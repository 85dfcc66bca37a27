import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { Errors } from "../domain/errors.js";
import type { Principal } from "../domain/principal.js";
import type { Store } from "../domain/store.js";
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

const BEARER = "Bearer ";

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { store, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const jwt = createJwtVerifier(deps.config.jwt, now);

  /** Resolves a token to the id of the user it identifies. Never logs the token itself. */
  async function userIdOf(token: string): Promise<string> {
    if (isCompactJws(token)) return userIdFromJwt(jwt, token, logger);

    const record = await store.read.findTokenByHash(hashToken(token));
    if (!record) return rejectToken(logger, "unknown personal access token");
    if (record.revokedAt) return rejectToken(logger, "revoked personal access token", { tokenId: record.id });
    if (record.expiresAt && record.expiresAt.getTime() <= now().getTime()) {
      return rejectToken(logger, "expired personal access token", { tokenId: record.id });
    }
    return record.userId;
  }

  return {
    async authenticate({ authorization, orgId }) {
      const token = bearerToken(authorization);
      const userId = await userIdOf(token);

      // One round trip for everything else the principal needs.
      const contextOrgId = orgId ? orgId : undefined;
      // HTTP forbids NUL in header values; should one arrive anyway, it names no organization
      if (contextOrgId?.includes("\u0000")) throw Errors.orgNotExisting();
      const [user, memberships, org] = await Promise.all([
        store.read.getUser(userId),
        store.read.getMemberships(userId),
        contextOrgId === undefined ? Promise.resolve(undefined) : store.read.getOrg(contextOrgId),
      ]);
      if (!user) return rejectToken(logger, "token of an unknown user", { userId });
      if (user.state !== "active") return rejectToken(logger, "token of a user that is not active", { userId, state: user.state });
      if (contextOrgId !== undefined && !org) throw Errors.orgNotExisting();

      return { userId: user.id, orgId: user.orgId, memberships };
    },
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
