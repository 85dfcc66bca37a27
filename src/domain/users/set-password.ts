import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { UserRecord } from "../store.js";
import { ChangeSet, detailsOf, type Details } from "./change-set.js";
import { runWithAttemptRecording } from "./failed-attempt.js";
import { checkIfMatch, parseIfMatch } from "./if-match.js";
import type { PasswordInput } from "./inputs.js";
import { applyPasswordStep, preparePassword, validatePasswordInput, type PasswordPrework } from "./password-step.js";
import { commitUserChange } from "./update-human.js";

export interface SetPasswordInput {
  userId: string;
  password: PasswordInput;
  ifMatch?: string | null;
}

/** SetPassword (contract.md §9.6): the password step of UpdateHumanUser, refusing an unchanged password. */
export async function setPassword(deps: DomainDeps, principal: Principal, input: SetPasswordInput): Promise<{ details: Details }> {
  const pw = input.password;
  validatePasswordInput(pw);
  const precondition = parseIfMatch(input.ifMatch);

  const find = (u: UserRecord | undefined): UserRecord => {
    if (!u || u.state === "deleted" || u.type !== "human") throw Errors.userNotFound();
    if (principal.userId !== u.id && !deps.permissions.holds(principal, "user.write", u.orgId)) {
      // decision 9: a stranger gets NOT_FOUND before any code is looked at
      if (pw.verification.kind === "code") throw Errors.userNotFound();
      throw Errors.permissionDenied();
    }
    return u;
  };

  let prework: PasswordPrework = {};
  try {
    prework = await preparePassword(deps, principal, find(await deps.store.read.getUser(input.userId)), pw);
  } catch {
    // reported in order by the transaction below
  }

  const now = deps.now();
  return runWithAttemptRecording(deps.store, principal.userId, now, async (tx, lockUser) => {
    const user = find(await lockUser(input.userId));
    checkIfMatch(precondition, user.sequence);
    const draft: UserRecord = { ...user };
    const changes = new ChangeSet(user, principal.userId, now);
    await applyPasswordStep(deps, tx, principal, draft, pw, prework, changes, { rejectUnchanged: true });
    const saved = await commitUserChange(tx, changes, draft);
    return { details: detailsOf(saved) };
  });
}
