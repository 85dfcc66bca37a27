import type { DomainDeps } from "../deps.js";
import type { Details } from "../users/change-set.js";
import { useContactCode } from "../users/contact-steps.js";
import { runUserCommand } from "../users/run-user-command.js";
import { codeHolderOf, requireCodeHolderTarget } from "./code-holder.js";

export interface VerifyEmailWithCodeInput {
  userId: string;
  code: string;
}

/**
 * The verification link: marks the user's email address verified when the code is its pending
 * email code. Exactly VerifyEmail's code step (codes.md §4: a wrong guess at a usable code is
 * recorded and counts towards the limit of five), performed by the code holder of that user
 * (code-holder.ts).
 */
export function verifyEmailWithCode(deps: DomainDeps, input: VerifyEmailWithCodeInput): Promise<{ details: Details }> {
  return runUserCommand<never, object>(deps, codeHolderOf(input.userId), {
    userId: input.userId,
    guard: requireCodeHolderTarget,
    async plan({ tx, draft, changes }) {
      await useContactCode(deps, tx, draft, "email", input.code, changes);
      return {};
    },
  });
}
