import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import { ChangeSet, detailsOf, type Details } from "./change-set.js";
import { checkIfMatch, parseIfMatch } from "./if-match.js";
import { parseUrlTemplate } from "./url-template.js";
import { issueCode, type CodeDeliveryRequest } from "./verification-codes.js";
import { commitUserChange } from "./update-human.js";

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
  const precondition = parseIfMatch(input.ifMatch);
  const now = deps.now();
  return deps.store.transaction(async (tx) => {
    const user = await tx.lockUser(input.userId);
    if (!user || user.state === "deleted" || user.type !== "human") throw Errors.userNotFoundReset();
    if (user.state === "initial") throw Errors.userNotInitialisedReset();
    const canWrite = deps.permissions.holds(principal, "user.write", user.orgId);
    if (principal.userId !== user.id && !canWrite) throw Errors.permissionDenied();
    if (m.kind === "return" && !canWrite) throw Errors.permissionDenied();
    checkIfMatch(precondition, user.sequence);

    const delivery: CodeDeliveryRequest =
      m.kind === "return"
        ? { kind: "return" }
        : m.kind === "link"
          ? { kind: "send", channel: m.channel, urlTemplate: m.channel === "email" ? m.urlTemplate : undefined }
          : { kind: "send", channel: "email" };
    const issued = issueCode(deps, user, "password_reset", delivery, now);
    const changes = new ChangeSet(user, principal.userId, now);
    changes.addIssuedCode(issued, "user.human.password.code.added");
    const saved = await commitUserChange(tx, changes, { ...user });
    return { details: detailsOf(saved), ...(m.kind === "return" ? { verificationCode: issued.plain } : {}) };
  });
}
