import type { DomainDeps } from "../deps.js";
import { Errors } from "../errors.js";
import type { Principal } from "../principal.js";
import type { Details } from "./change-set.js";
import { applyEmail, useContactCode, verifyOrIssueEmailCode, type CodeResult, type ReturnedCodes } from "./contact-steps.js";
import { guardCodeAttempt, guardContactChange } from "./contact-guards.js";
import { checkPlainAddress } from "./email.js";
import type { EmailVerification } from "./inputs.js";
import { parseIfMatch } from "./if-match.js";
import { runUserCommand } from "./run-user-command.js";
import { parseUrlTemplate } from "./url-template.js";

/** The email RPCs of contract.md §9.4: SetEmail, ResendEmailCode, SendEmailCode, VerifyEmail. */

export interface SetEmailInput {
  userId: string;
  email: string;
  verification: EmailVerification;
  /** Raw `if-match` header value (decision 5). */
  ifMatch?: string | null;
}

/** How ResendEmailCode and SendEmailCode deliver the new code (their oneof has no `is_verified`). */
export type EmailCodeDelivery = Exclude<EmailVerification, { kind: "verified" }>;

export interface EmailCodeInput {
  userId: string;
  delivery: EmailCodeDelivery;
  ifMatch?: string | null;
}

export interface VerifyEmailInput {
  userId: string;
  code: string;
  ifMatch?: string | null;
}

/** The checks that need no stored data: `if-match` syntax, then the URL template (codes.md §7). */
function validate(ifMatch: string | null | undefined, v: EmailVerification): void {
  parseIfMatch(ifMatch);
  if (v.kind === "send" && v.urlTemplate !== undefined) parseUrlTemplate(v.urlTemplate);
}

const claimsVerified = (v: EmailVerification): boolean => v.kind === "verified" && v.value;

/**
 * SetEmail: a new address (compared exactly) replaces the stored one, unverified, discarding the
 * pending code; it is then marked verified (`is_verified`) or given a new code, returned or mailed.
 * The same address → COMMAND-Uch5e.
 */
export async function setEmail(deps: DomainDeps, principal: Principal, input: SetEmailInput): Promise<CodeResult> {
  const v = input.verification;
  validate(input.ifMatch, v);
  checkPlainAddress(input.email);
  return runUserCommand<never, { verificationCode?: string }>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (stored) => guardContactChange(deps, principal, stored, Errors.emailUserNotFound, claimsVerified(v) || v.kind === "return"),
    plan({ draft, changes }) {
      if (input.email === draft.email) throw Errors.emailNotChanged();
      const codes: ReturnedCodes = {};
      applyEmail(deps, draft, { email: input.email, verification: v }, changes, codes);
      return { verificationCode: codes.emailCode };
    },
  });
}

/** A new email code replaces the old one: returned with `return_code`, otherwise mailed. */
function issueEmailCode(deps: DomainDeps, principal: Principal, input: EmailCodeInput, requirePending: boolean): Promise<CodeResult> {
  const delivery = input.delivery;
  validate(input.ifMatch, delivery);
  return runUserCommand<never, { verificationCode?: string }>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (stored) => guardContactChange(deps, principal, stored, Errors.emailUserNotFound, delivery.kind === "return"),
    async plan({ tx, draft, changes }) {
      if (requirePending && !(await tx.getCode(draft.id, "email"))) throw Errors.emailCodeEmpty();
      const codes: ReturnedCodes = {};
      verifyOrIssueEmailCode(deps, draft, delivery, changes, codes);
      return { verificationCode: codes.emailCode };
    },
  });
}

/** ResendEmailCode: needs a pending email code (usable or not, codes.md §3), else EMAIL-5w5ilin4yt. */
export function resendEmailCode(deps: DomainDeps, principal: Principal, input: EmailCodeInput): Promise<CodeResult> {
  return issueEmailCode(deps, principal, input, true);
}

/** SendEmailCode: ResendEmailCode without the pending-code requirement. */
export function sendEmailCode(deps: DomainDeps, principal: Principal, input: EmailCodeInput): Promise<CodeResult> {
  return issueEmailCode(deps, principal, input, false);
}

/** VerifyEmail: a matching usable code verifies the address and is used up; anything else COMMAND-eis9R. */
export function verifyEmail(deps: DomainDeps, principal: Principal, input: VerifyEmailInput): Promise<{ details: Details }> {
  return runUserCommand<never, object>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (stored) => guardCodeAttempt(deps, principal, stored, Errors.emailUserNotFound),
    async plan({ tx, draft, changes }) {
      await useContactCode(deps, tx, draft, "email", input.code, changes);
      return {};
    },
  });
}
