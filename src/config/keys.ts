import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../startup-error.js";

/** The instance's master secret is 32 random bytes; every working key is derived from it. */
export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE = "master.key";

export interface MasterKeySource {
  /** ROSTER_MASTER_KEY: base64 (standard or URL-safe) of exactly 32 bytes. Empty counts as unset. */
  envValue?: string;
  /** Where `master.key` is read from, or created on first start when no envValue is given. */
  dataDir: string;
}

/**
 * Returns the master key from ROSTER_MASTER_KEY, else from `<dataDir>/master.key`, creating that
 * file with fresh random bytes on first start. Throws a plain Error naming the source when a
 * configured key is not base64 of exactly 32 bytes.
 */
export async function loadMasterKey(source: MasterKeySource): Promise<Buffer> {
  return (await findMasterKey(source))?.key ?? createMasterKey(source.dataDir);
}

/** Where the instance key came from, for messages: the variable or the file's path. */
export interface FoundMasterKey {
  key: Buffer;
  origin: string;
}

/** The configured key (ROSTER_MASTER_KEY, else `<dataDir>/master.key`), or undefined when there is none. */
export async function findMasterKey(source: MasterKeySource): Promise<FoundMasterKey | undefined> {
  if (source.envValue !== undefined && source.envValue.trim() !== "") {
    return { key: decodeMasterKey(source.envValue, "ROSTER_MASTER_KEY"), origin: "ROSTER_MASTER_KEY" };
  }
  const path = masterKeyPath(source.dataDir);
  const existing = await readKeyFile(path);
  return existing === undefined ? undefined : { key: existing, origin: path };
}

export function masterKeyPath(dataDir: string): string {
  return join(dataDir, MASTER_KEY_FILE);
}

/** Creates `<dataDir>/master.key` with fresh random bytes (or adopts the one a concurrent start wrote). */
export async function createMasterKey(dataDir: string): Promise<Buffer> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return createKeyFile(masterKeyPath(dataDir));
}

/**
 * A public, stable name of the key: HMAC of a fixed label, so it reveals nothing about the key
 * and lets the database recognise the key it was set up with.
 */
export function masterKeyFingerprint(master: Buffer): string {
  return createHmac("sha256", master).update("roster/v1/key-fingerprint").digest("hex").slice(0, 32);
}

export interface DerivedKeys {
  /** HMAC key for verification codes (codes.md §5). */
  codeHmac: Buffer;
  /** AES-256-GCM key for the secret part of pending notifications (codes.md §6). */
  notificationAead: Buffer;
}

/**
 * Distinct labels give independent keys, so a key used for one purpose reveals nothing about the
 * others. Changing a label invalidates everything made with the old key.
 */
const LABELS = {
  codeHmac: "roster/v1/code-hmac",
  notificationAead: "roster/v1/notification-aead",
} as const;

/** HKDF-SHA-256; the master key is uniformly random, so no salt is needed (RFC 5869 §3.1). */
export function deriveKeys(master: Buffer): DerivedKeys {
  if (master.length !== MASTER_KEY_BYTES) {
    throw new Error(`master key must be ${MASTER_KEY_BYTES} bytes, got ${master.length}`);
  }
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), info, 32));
  return {
    codeHmac: derive(LABELS.codeHmac),
    notificationAead: derive(LABELS.notificationAead),
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;

function decodeMasterKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = BASE64.test(trimmed) ? Buffer.from(trimmed, "base64") : undefined;
  if (!key || key.length !== MASTER_KEY_BYTES) {
    throw new StartupError(
      `${origin} must be the base64 encoding of exactly ${MASTER_KEY_BYTES} bytes ` +
        `(e.g. the output of \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw e;
  }
  return decodeMasterKey(text, path);
}

/**
 * Writes the new key to a private temporary file and hard-links it into place: the key file
 * appears complete or not at all, and when two processes start at once the first link wins and
 * the other adopts the winner's key.
 */
async function createKeyFile(path: string): Promise<Buffer> {
  const key = randomBytes(MASTER_KEY_BYTES);
  const text = `${key.toString("base64")}\n`;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, path);
    return key;
  } catch (e) {
    if (isErrno(e, "EEXIST")) return adoptKeyFile(path);
    // Some file systems (certain container volumes) have no hard links: exclusive create still
    // keeps two processes from both writing a key.
    try {
      await writeFile(path, text, { flag: "wx", mode: 0o600 });
      return key;
    } catch (e2) {
      if (isErrno(e2, "EEXIST")) return adoptKeyFile(path);
      throw e2;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Another process created the key file first: use its key. */
async function adoptKeyFile(path: string): Promise<Buffer> {
  const key = await readKeyFile(path);
  if (!key) throw new Error(`${path} disappeared while being created`);
  return key;
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === "object" && e !== null && (e as NodeJS.ErrnoException).code === code;
}
