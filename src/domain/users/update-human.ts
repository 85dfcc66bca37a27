import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { UserRecord } from "../store.js";
import type { Details } from "./change-set.js";
import { applyEmail, applyPhone, type ReturnedCodes } from "./contact-steps.js";
import { canWrite, requireLiveHuman } from "./guards.js";
import type { EmailInput, NewPassword, PasswordInput, PhoneInput, ProfileInput } from "./inputs.js";
import { applyPasswordStep, preparePassword, validatePasswordInput, type PasswordPrework } from "./password-step.js";
import { applyProfile } from "./profile-step.js";
import { checkPlainAddress } from "./email.js";
import { normalizePhone } from "./phone.js";
import { parseUrlTemplate } from "./url-template.js";
import { runUserCommand } from "./run-user-command.js";
import { assertUsernameFree, trimUsername } from "./username.js";
import { parseIfMatch } from "./if-match.js";

export interface UpdateHumanUserInput {
  userId: string;
  username?: string;
  profile?: ProfileInput;
  email?: EmailInput;
  phone?: PhoneInput;
  password?: PasswordInput;
  /** Raw `if-match` header value (decision 5). */
  ifMatch?: string | null;
}

export interface UpdateHumanUserResult extends ReturnedCodes {
  details: Details;
}

interface ValidInput extends UpdateHumanUserInput {
  password?: PasswordInput & { newPassword: NewPassword };
}

/** Step 2 of update-human-user.md §1 after the field rules: checks that need no stored data. */
function validate(input: UpdateHumanUserInput): ValidInput {
  parseIfMatch(input.ifMatch);
  const out: ValidInput = { ...input, password: undefined };
  if (input.username !== undefined) {
    const username = trimUsername(input.username);
    if (username === undefined) throw Errors.usernameMissing();
    out.username = username;
  }
  if (input.email) {
    const v = input.email.verification;
    if (v.kind === "send" && v.urlTemplate !== undefined) parseUrlTemplate(v.urlTemplate);
    checkPlainAddress(input.email.email);
  }
  if (input.phone && input.phone.phone !== "") {
    out.phone = { ...input.phone, phone: normalizePhone(input.phone.phone) };
  }
  const password = input.password;
  if (password) {
    validatePasswordInput(password);
    out.password = password;
  }
  return out;
}

function hasBlock(i: UpdateHumanUserInput): boolean {
  return i.username !== undefined || !!i.profile || !!i.email || !!i.phone || !!i.password;
}

/** Steps 3 and 4: the user, then who may do what (decisions 2, 3 and 8). */
function guard(deps: DomainDeps, principal: Principal, input: ValidInput, stored: UserRecord | undefined): UserRecord {
  const user = requireLiveHuman(stored);
  const self = principal.userId === user.id;
  if (!hasBlock(input)) {
    if (!self && !deps.permissions.holds(principal, "user.read", user.orgId)) throw Errors.userNotFound();
    return user;
  }
  const write = canWrite(deps, principal, user);
  if (!self && !write) {
    // decision 9: a stranger learns nothing about a code, not even that it could be tried
    if (input.password?.verification.kind === "code") throw Errors.userNotFound();
    throw Errors.permissionDenied();
  }
  const claimsVerified =
    (input.email?.verification.kind === "verified" && input.email.verification.value) ||
    input.phone?.verification.kind === "verified";
  const wantsCode = input.email?.verification.kind === "return" || input.phone?.verification.kind === "return";
  if ((claimsVerified || wantsCode) && !write) throw Errors.permissionDenied();
  return user;
}

/**
 * UpdateHumanUser (update-human-user.md): validate, then in one transaction lock the user, check
 * the permission and the precondition, plan every block's change and write them together.
 */
export async function updateHumanUser(deps: DomainDeps, principal: Principal, raw: UpdateHumanUserInput): Promise<UpdateHumanUserResult> {
  const input = validate(raw);
  const password = input.password;
  return runUserCommand<PasswordPrework, ReturnedCodes>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard: (user) => guard(deps, principal, input, user),
    // bcrypt work before the row lock, for callers that may change this user at all
    prepare: password && ((snapshot) => preparePassword(deps, principal, snapshot, password)),
    async plan({ tx, draft, changes, prework }) {
      const codes: ReturnedCodes = {};
      if (input.username !== undefined && input.username !== draft.username) {
        await assertUsernameFree(tx, input.username, draft.id);
        changes.add("user.username.changed", { old: draft.username, new: input.username });
        draft.username = input.username;
      }
      if (input.profile) applyProfile(draft, input.profile, changes);
      if (input.email) applyEmail(deps, draft, input.email, changes, codes);
      if (input.phone) applyPhone(deps, draft, input.phone, changes, codes);
      if (password) await applyPasswordStep(deps, tx, principal, draft, password, prework ?? {}, changes);
      return codes;
    },
  });
}
