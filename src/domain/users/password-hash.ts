import bcrypt from "bcrypt";
import { Errors } from "../errors.js";
import { checkPasswordLength, MAX_PASSWORD_BYTES } from "./password-policy.js";

/**
 * bcrypt in Modular Crypt Format (update-human-user.md §6.3): `$2a$`, `$2b$` or `$2y$`, a cost of
 * 04–31, then 22 characters of salt and 31 of hash from the bcrypt alphabet.
 */
const BCRYPT_HASH = /^\$2[aby]\$(?:0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

export function isSupportedBcryptHash(hash: string): boolean {
  return BCRYPT_HASH.test(hash);
}

/** The cost of a hash that passed `isSupportedBcryptHash` (the two digits after the prefix). */
export function bcryptCostOf(hash: string): number {
  return Number(hash.slice(4, 6));
}

/**
 * Highest bcrypt cost an imported hash may have. Every step up doubles the work: cost 14 (what
 * ZITADEL's defaults of 10–14 need) takes about a second here, cost 30 about a day, so an
 * unbounded import lets any user pin the hashing slots with their own password.
 */
export const DEFAULT_MAX_IMPORT_COST = 14;
let maxImportCost = DEFAULT_MAX_IMPORT_COST;

/**
 * Sets the import bound for the process (ROSTER_BCRYPT_MAX_IMPORT_COST, once at start). It is
 * process-wide because the checks that use it run before any dependency is at hand.
 */
export function setMaxImportCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new RangeError(`bcrypt import cost bound must be 4–31, got ${cost}`);
  maxImportCost = cost;
}

/** An imported hash that is not bcrypt → USER-oz74onzvqr; one above the cost bound → ROSTER-pwc01. */
export function assertSupportedHash(hash: string): void {
  if (!isSupportedBcryptHash(hash)) throw Errors.passwordHashNotSupported();
  if (bcryptCostOf(hash) > maxImportCost) throw Errors.passwordHashCostTooHigh(maxImportCost);
}

export interface PasswordHasher {
  /** bcrypt hash at the configured cost; a password over 72 bytes → ROSTER-pw072. */
  hash(password: string): Promise<string>;
  /**
   * True when the password matches the stored bcrypt hash (any supported prefix). A hash whose
   * cost is above `maxVerifyCost` never matches: it is not computed at all.
   */
  verify(password: string, hash: string): Promise<boolean>;
  /**
   * Shutdown: queued and later operations fail with UNAVAILABLE (ROSTER-shut1). Returns how many
   * are still running (native bcrypt cannot be interrupted; the process must not wait for them).
   */
  close(): { running: number };
  /** Operations computing now and waiting for a slot (for the metrics). */
  stats?(): { running: number; queued: number };
}

export interface PasswordHasherOptions {
  /** bcrypt cost, 4–31 (roster-decisions.md decision 6). */
  cost: number;
  /** Upper bound of bcrypt operations in flight at once. */
  maxConcurrent: number;
  /** Highest cost of a stored hash that is verified (default: the larger of `cost` and the import bound). */
  maxVerifyCost?: number;
}

/**
 * bcrypt runs on libuv's thread pool, which file I/O and DNS share: an unbounded burst of hashes
 * would stall them for hundreds of milliseconds, so operations wait for a free slot.
 */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const { cost, maxConcurrent } = options;
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new RangeError(`bcrypt cost must be an integer from 4 to 31, got ${cost}`);
  }
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new RangeError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`);
  }
  const maxVerifyCost = options.maxVerifyCost ?? Math.max(cost, maxImportCost);
  const limit = createLimiter(maxConcurrent);

  return {
    async hash(password) {
      checkPasswordLength(password);
      return limit(() => bcrypt.hash(password, cost));
    },
    async verify(password, hash) {
      // bcrypt would compare only the first 72 bytes; a longer password never matches.
      if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) return false;
      if (!isSupportedBcryptHash(hash)) return false;
      // Imported before the bound existed: refused like a wrong password (a reset replaces it).
      if (bcryptCostOf(hash) > maxVerifyCost) return false;
      return limit(() => bcrypt.compare(password, asNativeVersion(hash)));
    },
    close() {
      return { running: limit.close(Errors.shuttingDown) };
    },
    stats: () => limit.stats(),
  };
}

/**
 * `$2y$` (PHP's name) is the same algorithm as `$2b$`, but the native library only knows `$2a$`
 * and `$2b$` and answers false for `$2y$`.
 */
function asNativeVersion(hash: string): string {
  return hash.startsWith("$2y$") ? `$2b$${hash.slice(4)}` : hash;
}

export interface Limiter {
  <T>(task: () => Promise<T>): Promise<T>;
  /** Rejects every waiting and every later task with `error()`; returns how many still run. */
  close(error: () => Error): number;
  stats(): { running: number; queued: number };
}

/** A counting semaphore: at most `max` tasks run, the rest wait in arrival order. */
export function createLimiter(max: number): Limiter {
  let running = 0;
  let closedWith: (() => Error) | undefined;
  const waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next) next.resolve();
    else running--;
  };

  const limit = async <T>(task: () => Promise<T>): Promise<T> => {
    if (closedWith) throw closedWith();
    if (running < max) running++;
    else await new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    try {
      return await task();
    } finally {
      release();
    }
  };
  limit.stats = () => ({ running, queued: waiting.length });
  limit.close = (error: () => Error): number => {
    closedWith = error;
    for (const w of waiting.splice(0)) w.reject(error());
    return running;
  };
  return limit;
}
