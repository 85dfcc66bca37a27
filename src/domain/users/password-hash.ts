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

/** An imported hash that is not bcrypt → USER-oz74onzvqr. */
export function assertSupportedHash(hash: string): void {
  if (!isSupportedBcryptHash(hash)) throw Errors.passwordHashNotSupported();
}

export interface PasswordHasher {
  /** bcrypt hash at the configured cost; a password over 72 bytes → ROSTER-pw072. */
  hash(password: string): Promise<string>;
  /** True when the password matches the stored bcrypt hash (any supported prefix). */
  verify(password: string, hash: string): Promise<boolean>;
}

export interface PasswordHasherOptions {
  /** bcrypt cost, 4–31 (roster-decisions.md decision 6). */
  cost: number;
  /** Upper bound of bcrypt operations in flight at once. */
  maxConcurrent: number;
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
      return limit(() => bcrypt.compare(password, asNativeVersion(hash)));
    },
  };
}

/**
 * `$2y$` (PHP's name) is the same algorithm as `$2b$`, but the native library only knows `$2a$`
 * and `$2b$` and answers false for `$2y$`.
 */
function asNativeVersion(hash: string): string {
  return hash.startsWith("$2y$") ? `$2b$${hash.slice(4)}` : hash;
}

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** A counting semaphore: at most `max` tasks run, the rest wait in arrival order. */
export function createLimiter(max: number): Limiter {
  let running = 0;
  const waiting: Array<() => void> = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running < max) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      release();
    }
  };
}
