import { Errors } from "../errors.js";

/** Password complexity policy (update-human-user.md §6.2); one per deployment. */
export interface PasswordPolicy {
  /** Minimum length in UTF-8 bytes, as ZITADEL counts it. */
  minLength: number;
  hasLowercase: boolean;
  hasUppercase: boolean;
  hasNumber: boolean;
  hasSymbol: boolean;
}

/** ZITADEL's default policy. */
export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  minLength: 8,
  hasLowercase: true,
  hasUppercase: true,
  hasNumber: true,
  hasSymbol: true,
});

/** bcrypt ignores every byte after the 72nd (roster-decisions.md decision 6). */
export const MAX_PASSWORD_BYTES = 72;

// The classes are ASCII on purpose: `é` is a symbol, not a lower-case letter.
const LOWER = /[a-z]/;
const UPPER = /[A-Z]/;
const NUMBER = /[0-9]/;
const SYMBOL = /[^A-Za-z0-9]/u;

/** Checks a plain password against the policy; throws the first failure in the order of §6.2. */
export function checkPasswordPolicy(password: string, policy: PasswordPolicy): void {
  if (Buffer.byteLength(password, "utf8") < policy.minLength) throw Errors.policyMinLength();
  if (policy.hasLowercase && !LOWER.test(password)) throw Errors.policyHasLower();
  if (policy.hasUppercase && !UPPER.test(password)) throw Errors.policyHasUpper();
  if (policy.hasNumber && !NUMBER.test(password)) throw Errors.policyHasNumber();
  if (policy.hasSymbol && !SYMBOL.test(password)) throw Errors.policyHasSymbol();
}

/** A new plain password longer than 72 UTF-8 bytes → ROSTER-pw072. */
export function checkPasswordLength(password: string): void {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) throw Errors.passwordTooLong();
}
