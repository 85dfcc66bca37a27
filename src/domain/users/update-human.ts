import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import { UsernameConflict, type StoreTx, type UserRecord } from "../store.js";
import { ChangeSet, detailsOf, type Details } from "./change-set.js";
import { applyEmail, applyPhone, type ReturnedCodes } from "./contact-steps.js";
import { runWithAttemptRecording } from "./failed-attempt.js";
import { checkIfMatch, parseIfMatch, type IfMatch } from "./if-match.js";
import type { EmailInput, NewPassword, PasswordInput, PhoneInput, ProfileInput } from "./inputs.js";
import { applyPasswordStep, preparePassword, validatePasswordInput, type PasswordPrework } from "./password-step.js";
import { applyProfile } from "./profile-step.js";
import { checkPlainAddress } from "./email.js";
import { normalizePhone } from "./phone.js";
import { parseUrlTemplate } from "./url-template.js";

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
  precondition?: IfMatch;
}

/** Step 2 of update-human-user.md §1 after the field rules: checks that need no stored data. */
function validate(input: UpdateHumanUserInput): ValidInput {
  const precondition = parseIfMatch(input.ifMatch);
  const out: ValidInput = { ...input, password: undefined, precondition };
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

/** Step 4: who may do what (decisions 2, 3 and 8). */
function checkPermission(deps: DomainDeps, principal: Principal, user: UserRecord | undefined, input: ValidInput): asserts user is UserRecord {
  if (!user || user.state === "deleted" || user.type !== "human") throw Errors.userNotFound();
  const self = principal.userId === user.id;
  if (!hasBlock(input)) {
    if (!self && !deps.permissions.holds(principal, "user.read", user.orgId)) throw Errors.userNotFound();
    return;
  }
  const canWrite = deps.permissions.holds(principal, "user.write", user.orgId);
  if (!self && !canWrite) {
    // decision 9: a stranger learns nothing about a code, not even that it could be tried
    if (input.password?.verification.kind === "code") throw Errors.userNotFound();
    throw Errors.permissionDenied();
  }
  const claimsVerified =
    (input.email?.verification.kind === "verified" && input.email.verification.value) ||
    input.phone?.verification.kind === "verified";
  const wantsCode = input.email?.verification.kind === "return" || input.phone?.verification.kind === "return";
  if ((claimsVerified || wantsCode) && !canWrite) throw Errors.permissionDenied();
}

/**
 * UpdateHumanUser (update-human-user.md): validate, then in one transaction lock the user, check
 * the permission and the precondition, plan every block's change and write them together.
 */
export async function updateHumanUser(deps: DomainDeps, principal: Principal, raw: UpdateHumanUserInput): Promise<UpdateHumanUserResult> {
  const input = validate(raw);

  // bcrypt work before the row lock, for callers that may change this user at all
  let prework: PasswordPrework = {};
  if (input.password) {
    const snapshot = await deps.store.read.getUser(input.userId);
    try {
      checkPermission(deps, principal, snapshot, input);
      prework = await preparePassword(deps, principal, snapshot, input.password);
    } catch {
      // the transaction below reports the same error in its proper order
    }
  }

  const now = deps.now();
  return runWithAttemptRecording(deps.store, principal.userId, now, async (tx, lockUser) => {
    const user = await lockUser(input.userId);
    checkPermission(deps, principal, user, input);
    checkIfMatch(input.precondition, user.sequence);

    const draft: UserRecord = { ...user };
    const changes = new ChangeSet(user, principal.userId, now);
    const codes: ReturnedCodes = {};
    if (input.username !== undefined && input.username !== user.username) {
      await assertUsernameFree(tx, input.username, user.id);
      changes.add("user.username.changed", { old: user.username, new: input.username });
      draft.username = input.username;
    }
    if (input.profile) applyProfile(draft, input.profile, changes);
    if (input.email) applyEmail(deps, draft, input.email, changes, codes);
    if (input.phone) applyPhone(deps, draft, input.phone, changes, codes);
    if (input.password) await applyPasswordStep(deps, tx, principal, draft, input.password, prework, changes);

    if (changes.isEmpty) return { details: detailsOf(user) };
    const saved = await commitUserChange(tx, changes, draft);
    return { details: detailsOf(saved), ...codes };
  });
}

export async function assertUsernameFree(tx: StoreTx, username: string, exceptUserId?: string): Promise<void> {
  if (await tx.usernameTaken(username, exceptUserId)) throw Errors.usernameTaken();
}

/** Commits a planned change of an existing user; a username taken concurrently → V3-DKcYh. */
export async function commitUserChange(tx: StoreTx, changes: ChangeSet, draft: UserRecord): Promise<UserRecord> {
  try {
    return await changes.commit(tx, draft, "update");
  } catch (e) {
    if (e instanceof UsernameConflict) throw Errors.usernameTaken();
    throw e;
  }
}
