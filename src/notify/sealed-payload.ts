import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Encryption of a pending notification's secret part (codes.md §6): AES-256-GCM over the JSON of
 * the payload. Layout: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
 */
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: Buffer, plaintext: object): Buffer {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(JSON.stringify(plaintext), "utf8"), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Decrypts and parses a sealed payload; throws when it was altered or sealed under another key. */
export function open(key: Buffer, sealed: Buffer): object {
  checkKey(key);
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error("sealed payload is too short");
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  let json: string;
  try {
    json = Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("sealed payload failed authentication");
  }
  const value: unknown = JSON.parse(json);
  if (typeof value !== "object" || value === null) throw new Error("sealed payload is not an object");
  return value;
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`AES-256-GCM key must be ${KEY_BYTES} bytes, got ${key.length}`);
}
