import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { UserRecord } from "../store.js";
import type { Details } from "./change-set.js";
import { canWrite, requireLiveHuman } from "./guards.js";
import type { PasswordInput } from "./inputs.js";
import { applyPasswordStep, preparePassword, validatePasswordInput, type PasswordPrework } from "./password-step.js";
import { runUserCommand } from "./run-user-command.js";

export interface SetPasswordInput {
  userId: string;
  password: PasswordInput;
  ifMatch?: string | null;
}

/** SetPassword (contract.md §9.6): the password step of UpdateHumanUser, refusing an unchanged password. */
export async function setPassword(deps: DomainDeps, principal: Principal, input: SetPasswordInput): Promise<{ details: Details }> {
  const pw = input.password;
  validatePasswordInput(pw);

  const guard = (stored: UserRecord | undefined): UserRecord => {
    const user = requireLiveHuman(stored);
    if (principal.userId !== user.id && !canWrite(deps, principal, user)) {
      // decision 9: a stranger gets NOT_FOUND before any code is looked at
      if (pw.verification.kind === "code") throw Errors.userNotFound();
      throw Errors.permissionDenied();
    }
    return user;
  };

  return runUserCommand<PasswordPrework, object>(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard,
    prepare: (snapshot) => preparePassword(deps, principal, snapshot, pw),
    async plan({ tx, draft, changes, prework }) {
      await applyPasswordStep(deps, tx, principal, draft, pw, prework ?? {}, changes, { rejectUnchanged: true });
      return {};
    },
  });
}
