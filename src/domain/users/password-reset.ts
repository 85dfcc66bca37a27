import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { Details } from "./change-set.js";
import { canWrite, requireInitialised, requireLiveHuman, requireSelfOrWrite } from "./guards.js";
import { parseUrlTemplate } from "./url-template.js";
import { issueCode, type CodeDeliveryRequest } from "./verification-codes.js";
import { runUserCommand } from "./run-user-command.js";

export type PasswordResetMedium =
  | { kind: "link"; channel: "email" | "sms"; urlTemplate?: string }
  | { kind: "return" }
  | { kind: "default" };

export interface PasswordResetInput {
  userId: string;
  medium: PasswordResetMedium;
  ifMatch?: string | null;
}

/** PasswordReset (contract.md §9.6): a new reset code replaces any previous one. */
export async function passwordReset(
  deps: DomainDeps,
  principal: Principal,
  input: PasswordResetInput,
): Promise<{ details: Details; verificationCode?: string }> {
  const m = input.medium;
  if (m.kind === "link" && m.urlTemplate !== undefined) parseUrlTemplate(m.urlTemplate);
  return runUserCommand(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard(stored) {
      const user = requireLiveHuman(stored, Errors.userNotFoundReset);
      requireInitialised(user, Errors.userNotInitialisedReset);
      requireSelfOrWrite(deps, principal, user);
      if (m.kind === "return" && !canWrite(deps, principal, user)) throw Errors.permissionDenied();
      return user;
    },
    plan({ user, changes, now }) {
      const delivery: CodeDeliveryRequest =
        m.kind === "return"
          ? { kind: "return" }
          : m.kind === "link"
            ? { kind: "send", channel: m.channel, urlTemplate: m.channel === "email" ? m.urlTemplate : undefined }
            : { kind: "send", channel: "email" };
      const issued = issueCode(deps, user, "password_reset", delivery, now);
      changes.addIssuedCode(issued, "user.human.password.code.added");
      return m.kind === "return" ? { verificationCode: issued.plain } : {};
    },
  });
}
