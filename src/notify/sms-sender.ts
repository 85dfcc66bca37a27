/**
 * SMS through an HTTP provider: a JSON POST to ROSTER_SMS_WEBHOOK_URL, signed so the receiver can
 * tell it comes from this Roster. Header `X-Roster-Signature: t=<unix seconds>,v1=<hex>` where
 * the hex is HMAC-SHA-256 under the shared secret over `<t>.<raw body>`.
 */
import { createHmac } from "node:crypto";
import type { CodePurpose } from "../domain/store.js";
import { DeliveryError, scrubProviderAnswer, type SendResult } from "./delivery-error.js";

const SIGNATURE_HEADER = "X-Roster-Signature";

export interface SmsSettings {
  url: string;
  secret: string;
  timeoutMs: number;
}

/** The body of the webhook request. */
interface SmsWebhookBody {
  /** The notification's id: the same for every retry of one message (for de-duplication). */
  id: string;
  recipient: string;
  purpose: "phone_verification" | "password_reset";
  message: string;
  code: string;
  userId: string;
  language: string;
}

export interface SmsRequest {
  notificationId: string;
  recipient: string;
  purpose: CodePurpose;
  message: string;
  code: string;
  userId: string;
  language: string;
}

export interface SmsSender {
  send(request: SmsRequest, secrets: readonly string[]): Promise<SendResult>;
}

export function signWebhookBody(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.`).update(body).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

export function createSmsSender(settings: SmsSettings, now: () => Date = () => new Date()): SmsSender {
  return {
    async send(r, secrets) {
      const payload: SmsWebhookBody = {
        id: r.notificationId,
        recipient: r.recipient,
        purpose: r.purpose === "phone" ? "phone_verification" : "password_reset",
        message: r.message,
        code: r.code,
        userId: r.userId,
        language: r.language,
      };
      const body = JSON.stringify(payload);
      const scrub = (s: string) => scrubProviderAnswer(s, [r.message, ...secrets]);
      let response: Response;
      try {
        response = await fetch(settings.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [SIGNATURE_HEADER]: signWebhookBody(settings.secret, body, Math.floor(now().getTime() / 1000)),
          },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        throw new DeliveryError(scrub(e.name === "TimeoutError" ? "no answer in time" : `${e.cause?.code ?? e.name}: ${e.message}`), false);
      }
      const text = (await response.text().catch(() => "")).slice(0, 200);
      const status = scrub(`HTTP ${response.status}${text ? `: ${text}` : ""}`);
      if (response.ok) return { providerStatus: status };
      // 408 and 429 say "later", not "never"
      const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
      throw new DeliveryError(status, permanent);
    },
  };
}
