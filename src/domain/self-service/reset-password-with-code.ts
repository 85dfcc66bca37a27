import type { DomainDeps } from "../deps.js";
import type { Details } from "../users/change-set.js";
import type { PasswordInput } from "../users/inputs.js";
import { applyPasswordStep, validatePasswordInput } from "../users/password-step.js";
import { runUserCommand } from "../users/run-user-command.js";
import { codeHolderOf, requireCodeHolderTarget } from "./code-holder.js";

export interface ResetPasswordWithCodeInput {
  userId: string;
  code: string;
  newPassword: string;
}

/**
 * The password-reset link: a new password for the user, proven only by its pending
 * password-reset code. Exactly SetPassword's password step with `verification_code` (codes.md §4:
 * a wrong guess at a usable code is recorded and counts towards the limit of five), performed by
 * the code holder of that user (code-holder.ts).
 *
 * Unlike SetPassword, bcrypt runs only after the code has matched: the caller is not
 * authenticated, so a wrong guess must cost the server no hashing.
 */
export async function resetPasswordWithCode(deps: DomainDeps, input: ResetPasswordWithCodeInput): Promise<{ details: Details }> {
  const principal = codeHolderOf(input.userId);
  const password: PasswordInput = {
    newPassword: { kind: "plain", password: input.newPassword, changeRequired: false },
    verification: { kind: "code", code: input.code },
  };
  validatePasswordInput(password);
  return runUserCommand<never, object>(deps, principal, {
    userId: input.userId,
    guard: requireCodeHolderTarget,
    async plan({ tx, draft, changes }) {
      await applyPasswordStep(deps, tx, principal, draft, password, {}, changes);
      return {};
    },
  });
}
