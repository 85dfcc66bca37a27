import type { DomainDeps } from "../deps.js";
import { Errors } from "../errors.js";
import type { Principal } from "../principal.js";
import type { Details } from "./change-set.js";
import { applyPhone, useContactCode, verifyOrIssuePhoneCode, type CodeResult, type ReturnedCodes } from "./contact-steps.js";
import { guardCodeAttempt, guardContactChange } from "./contact-guards.js";
import { requireLiveHuman, requireWrite } from "./guards.js";
import { parseIfMatch } from "./if-match.js";
import type { PhoneVerification } from "./inputs.js";
import { normalizePhone } from "./phone.js";
import { runUserCommand } from "./run-user-command.js";

/** The phone RPCs of contract.md §9.5: SetPhone, RemovePhone, ResendPhoneCode, VerifyPhone. */

export interface SetPhoneInput {
  userId: string;
  /** As sent; normalised to E.164 here (update-human-user.md §5). */
  phone: string;
  verification: PhoneVerification;
  /** Raw `if-match` header value (decision 5). */
  ifMatch?: string | null;
}

/** How ResendPhoneCode delivers the new code (its oneof has no `is_verified`). */
export type PhoneCodeDelivery = Exclude<PhoneVerification, { kind: "verified" }>;

export interface PhoneCodeInput {
  userId: string;
  delivery: PhoneCodeDelivery;
  ifMatch?: string | null;
}

export interface RemovePhoneInput {
  userId: string;
  ifMatch?: string | null;
}

export interface VerifyPhoneInput {
  userId: string;
  code: string;
  ifMatch?: string | null;
}

/**
 * SetPhone: the number is normalised to E.164 (PHONE-so0wa when it does not parse) and compared
 * in that form; the same number → COMMAND-Uch5e. A new number is unverified and discards the
 * pending code, then is marked verified (`is_verified`) or given a code, returned or sent by SMS.
 */
export async function setPhone(deps: DomainDeps, principal: Principal, input: SetPhoneInput): Promise<CodeResult> {
  parseIfMatch(input.ifMatch);
  const phone = normalizePhone(input.phone);
  const v = input.verification;
  return runUserCommand<never, { verificationCode?: string }>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (stored) => guardContactChange(deps, principal, stored, Errors.phoneUserNotFound, v.kind === "verified" || v.kind === "return"),
    plan({ draft, changes }) {
      if (phone === draft.phone) throw Errors.phoneNotChanged();
      const codes: ReturnedCodes = {};
      applyPhone(deps, draft, { phone, verification: v }, changes, codes);
      return { verificationCode: codes.phoneCode };
    },
  });
}

/**
 * RemovePhone: needs user.write on the user's organization, the user itself included; a user
 * without a phone → COMMAND-ieJ2e. The pending phone code is dropped.
 */
export function removePhone(deps: DomainDeps, principal: Principal, input: RemovePhoneInput): Promise<{ details: Details }> {
  return runUserCommand<never, object>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard(stored) {
      const user = requireLiveHuman(stored, Errors.phoneUserNotFound);
      requireWrite(deps, principal, user);
      return user;
    },
    plan({ draft, changes }) {
      if (draft.phone === "") throw Errors.phoneUserNotFound();
      changes.add("user.human.phone.removed", { old: draft.phone, new: "", verified: { old: draft.phoneVerified, new: false } });
      draft.phone = "";
      draft.phoneVerified = false;
      changes.discardCode("phone");
      return {};
    },
  });
}

/** ResendPhoneCode: needs a pending phone code (usable or not), else PHONE-5xrra88eq8; a new code replaces it. */
export async function resendPhoneCode(deps: DomainDeps, principal: Principal, input: PhoneCodeInput): Promise<CodeResult> {
  const delivery = input.delivery;
  return runUserCommand<never, { verificationCode?: string }>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (stored) => guardContactChange(deps, principal, stored, Errors.phoneUserNotFound, delivery.kind === "return"),
    async plan({ tx, draft, changes }) {
      if (!(await tx.getCode(draft.id, "phone"))) throw Errors.phoneCodeEmpty();
      const codes: ReturnedCodes = {};
      verifyOrIssuePhoneCode(deps, draft, delivery, changes, codes);
      return { verificationCode: codes.phoneCode };
    },
  });
}

/** VerifyPhone: a matching usable code verifies the number and is used up; anything else COMMAND-eis9R. */
export function verifyPhone(deps: DomainDeps, principal: Principal, input: VerifyPhoneInput): Promise<{ details: Details }> {
  return runUserCommand<never, object>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (stored) => guardCodeAttempt(deps, principal, stored, Errors.phoneUserNotFound),
    async plan({ tx, draft, changes }) {
      await useContactCode(deps, tx, draft, "phone", input.code, changes);
      return {};
    },
  });
}
