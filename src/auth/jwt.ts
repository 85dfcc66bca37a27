import { readFileSync } from "node:fs";
import {
  createLocalJWKSet,
  errors,
  createRemoteJWKSet,
  jwtVerify,
  type JSONWebKeySet,
  type JWSAlgorithm,
  type JWTVerifyGetKey,
} from "jose";
import type { Config } from "../config/config.js";
import { StartupError } from "../startup-error.js";

export type JwtConfig = Config["jwt"];

export interface JwtVerifier {
  /** Verifies a compact JWS access token and returns its subject (a Roster user id). Throws when invalid. */
  verify(token: string): Promise<string>;
}

/** Three base64url segments separated by dots: how a compact JWS looks (RFC 7515 §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token);
}

/**
 * Asymmetric algorithms only: the key set is public, so an HMAC key in it would let anyone who
 * can read it mint tokens.
 */
const ALGORITHMS: JWSAlgorithm[] = [
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
];

/**
 * Builds the verifier from configuration, or returns undefined when JWT access tokens are not
 * configured at all. A partial configuration is a startup error rather than a silently
 * disabled (or silently permissive) verifier.
 */
export function createJwtVerifier(config: JwtConfig, now: () => Date = () => new Date()): JwtVerifier | undefined {
  const { issuer, audience, jwksUrl, jwksFile } = config;
  if (!issuer && !audience && !jwksUrl && !jwksFile) return undefined;
  if (!issuer || !audience) {
    throw new StartupError("JWT configuration incomplete: ROSTER_JWT_ISSUER and ROSTER_JWT_AUDIENCE are both required");
  }
  if (!jwksUrl === !jwksFile) {
    throw new StartupError("JWT configuration: set exactly one of ROSTER_JWT_JWKS_URL and ROSTER_JWT_JWKS_FILE");
  }
  const keys = jwksUrl ? remoteKeys(jwksUrl) : localKeys(jwksFile as string);
  const clockTolerance = Math.max(0, config.clockSkewSeconds);

  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        clockTolerance,
        algorithms: ALGORITHMS,
        requiredClaims: ["exp", "sub"],
        currentDate: now(),
      });
      if (typeof payload.sub !== "string" || payload.sub === "") throw new errors.JWTInvalid("JWT has no subject");
      // a user id never holds a NUL (and the store's text columns cannot be asked about one)
      if (payload.sub.includes("\u0000")) throw new errors.JWTInvalid("JWT subject holds a NUL character");
      return payload.sub;
    },
  };
}

function remoteKeys(url: string): JWTVerifyGetKey {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StartupError(`ROSTER_JWT_JWKS_URL must be an absolute http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  return createRemoteJWKSet(parsed);
}

function localKeys(path: string): JWTVerifyGetKey {
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new StartupError(`ROSTER_JWT_JWKS_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof jwks !== "object" || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw new StartupError(`ROSTER_JWT_JWKS_FILE: ${path} is not a JSON Web Key Set (no "keys" array)`);
  }
  return createLocalJWKSet(jwks as JSONWebKeySet);
}
