import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import type { CodePurpose } from "../store.js";

/** All 36 characters, `9` included (roster-decisions.md decision 4). */
export const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Each character is an independent uniform choice from a cryptographic source (codes.md §2). */
export function generateCode(length: number): string {
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(`code length must be a positive integer, got ${length}`);
  }
  let code = "";
  for (let i = 0; i < length; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/**
 * HMAC-SHA-256 over `purpose ‖ 0x00 ‖ userId ‖ 0x00 ‖ code` (codes.md §5). Binding purpose and
 * user makes a code worthless for any other user or purpose; the NUL separators keep the fields
 * from running into each other.
 */
export function hashCode(key: Buffer, purpose: CodePurpose, userId: string, code: string): Buffer {
  return createHmac("sha256", key)
    .update(purpose, "utf8")
    .update(SEPARATOR)
    .update(userId, "utf8")
    .update(SEPARATOR)
    .update(code, "utf8")
    .digest();
}

/** Compares the submitted code with the stored hash in constant time; exact, case-sensitive. */
export function codeMatches(
  key: Buffer,
  record: { hash: Buffer },
  purpose: CodePurpose,
  userId: string,
  submitted: string,
): boolean {
  const candidate = hashCode(key, purpose, userId, submitted);
  return candidate.length === record.hash.length && timingSafeEqual(candidate, record.hash);
}

const SEPARATOR = Buffer.from([0]);
