import type { CodePurpose, CodeRecord, NewNotification, NotificationChannel, UserRecord } from "../store.js";
import type { DomainDeps } from "../deps.js";
import { codeMatches, generateCode, hashCode } from "../codes/code.js";
import { renderUrlTemplate } from "./url-template.js";
import { seal } from "../../notify/sealed-payload.js";

/** How a new code reaches its owner: in the response, or by a notification after commit. */
export type CodeDeliveryRequest =
  | { kind: "return" }
  | { kind: "send"; channel: NotificationChannel; urlTemplate?: string };

export interface IssuedCode {
  record: CodeRecord;
  plain: string;
  notification?: NewNotification;
  /** Non-secret facts for the `…code.added` event (decision 7). */
  eventPayload: Record<string, unknown>;
}

/** The maximum number of wrong guesses a code survives (decision 4). */
export const MAX_FAILED_ATTEMPTS = 5;

function settingsFor(deps: DomainDeps, purpose: CodePurpose) {
  return purpose === "password_reset" ? deps.codes.passwordReset : deps.codes[purpose];
}

function defaultTemplateFor(deps: DomainDeps, purpose: CodePurpose): string | undefined {
  if (purpose === "email") return deps.defaultUrlTemplates.emailVerification;
  if (purpose === "password_reset") return deps.defaultUrlTemplates.passwordReset;
  return undefined;
}

/**
 * Creates a new code for the user (replacing any previous one of that purpose when stored).
 * A returned code is never sent; a sent code is stored as an encrypted pending notification.
 */
export function issueCode(
  deps: DomainDeps,
  user: Pick<UserRecord, "id" | "orgId" | "email" | "phone">,
  purpose: CodePurpose,
  delivery: CodeDeliveryRequest,
  now: Date,
): IssuedCode {
  const settings = settingsFor(deps, purpose);
  const plain = generateCode(settings.length);
  const expiresAt = new Date(now.getTime() + settings.expirySeconds * 1000);
  const urlTemplate = delivery.kind === "send" ? delivery.urlTemplate ?? null : null;
  const record: CodeRecord = {
    userId: user.id,
    purpose,
    hash: hashCode(deps.keys.codeHmac, purpose, user.id, plain),
    createdAt: now,
    expiresAt,
    failedAttempts: 0,
    delivery: delivery.kind === "return" ? "returned" : "sent",
    urlTemplate,
  };
  const eventPayload: Record<string, unknown> = {
    expiresAt: expiresAt.toISOString(),
    delivery: record.delivery,
    ...(urlTemplate ? { urlTemplate } : {}),
  };
  if (delivery.kind === "return") return { record, plain, eventPayload };

  eventPayload.channel = delivery.channel;
  const template = delivery.channel === "email" ? urlTemplate ?? defaultTemplateFor(deps, purpose) : undefined;
  const link = template ? renderUrlTemplate(template, { userId: user.id, code: plain, orgId: user.orgId }) : undefined;
  const notification: NewNotification = {
    userId: user.id,
    channel: delivery.channel,
    recipient: delivery.channel === "email" ? user.email : user.phone,
    purpose,
    encryptedPayload: seal(deps.keys.notificationAead, { code: plain, ...(link ? { link } : {}) }),
    createdAt: now,
  };
  return { record, plain, notification, eventPayload };
}

export type CodeCheck =
  | { outcome: "match" }
  | { outcome: "none" }
  | { outcome: "expired" }
  | { outcome: "exhausted" }
  /** A wrong guess at a usable code: the caller records it (failedAttempts + 1). */
  | { outcome: "wrong"; failedAttempts: number };

/** Compares a submitted code with the stored one in constant time (codes.md §4). */
export function checkCode(
  deps: Pick<DomainDeps, "keys">,
  code: Pick<CodeRecord, "hash" | "expiresAt" | "failedAttempts"> | undefined,
  purpose: CodePurpose,
  userId: string,
  submitted: string,
  now: Date,
): CodeCheck {
  if (!code) return { outcome: "none" };
  if (code.expiresAt.getTime() <= now.getTime()) return { outcome: "expired" };
  if (code.failedAttempts >= MAX_FAILED_ATTEMPTS) return { outcome: "exhausted" };
  if (codeMatches(deps.keys.codeHmac, code, purpose, userId, submitted)) return { outcome: "match" };
  return { outcome: "wrong", failedAttempts: code.failedAttempts + 1 };
}
