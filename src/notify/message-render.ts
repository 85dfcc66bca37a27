/** Turns a claimed notification and its opened payload into the message a provider receives. */
import type { CodePurpose } from "../domain/store.js";
import type { MessageUser } from "../store/notification-outbox.js";
import type { MessageKind, Templates, TemplateValues } from "./templates.js";

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

interface SmsMessage {
  text: string;
}

export interface MessageInput {
  purpose: CodePurpose;
  userId: string;
  user: MessageUser;
  code: string;
  link: string | undefined;
  expiresAt: Date;
  now: Date;
}

function messageKind(purpose: CodePurpose): MessageKind {
  if (purpose === "email") return "email-verification";
  if (purpose === "phone") return "phone-verification";
  return "password-reset";
}

/** The name a message greets: the display name, else given and family name, else the username. */
function greetingName(user: MessageInput["user"]): string {
  return user.displayName.trim() || `${user.givenName} ${user.familyName}`.trim() || user.username;
}

function valuesOf(m: MessageInput): TemplateValues {
  return {
    displayName: greetingName(m.user),
    code: m.code,
    link: m.link ?? "",
    // minutes left, rounded up (a fresh one-hour code says 60)
    expiryMinutes: String(Math.max(1, Math.ceil((m.expiresAt.getTime() - m.now.getTime() - 1000) / 60_000))),
    userId: m.userId,
    orgId: m.user.orgId,
  };
}

export function renderEmail(templates: Templates, m: MessageInput): EmailMessage {
  const kind = messageKind(m.purpose);
  const values = valuesOf(m);
  const language = m.user.preferredLanguage;
  return {
    subject: templates.render(kind, "subject.txt", language, values),
    text: templates.render(kind, "body.txt", language, values),
    html: templates.render(kind, "body.html", language, values),
  };
}

export function renderSms(templates: Templates, m: MessageInput): SmsMessage {
  return { text: templates.render(messageKind(m.purpose), "sms.txt", m.user.preferredLanguage, valuesOf(m)) };
}
