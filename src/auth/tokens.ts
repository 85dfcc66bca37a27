import { createHash, randomBytes } from "node:crypto";

/** Recognisable prefix, so leaked tokens can be found by secret scanners. */
export const PAT_PREFIX = "roster_pat_";

const PAT_RANDOM_BYTES = 32;

/** A new personal access token and the hash under which it is stored. The plain token is shown once. */
export function newPersonalAccessToken(): { token: string; hash: Buffer } {
  const token = PAT_PREFIX + randomBytes(PAT_RANDOM_BYTES).toString("base64url");
  return { token, hash: hashToken(token) };
}

/**
 * The stored form of a token. A plain SHA-256 suffices because tokens carry 256 bits of
 * randomness: there is nothing to brute-force, so a slow or salted hash would only cost latency.
 */
export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
