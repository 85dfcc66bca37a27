/** Email over SMTP: one pooled nodemailer transport per process. */
import nodemailer from "nodemailer";
import type { EmailMessage } from "./message-render.js";
import { DeliveryError, scrubProviderAnswer, type SendResult } from "./delivery-error.js";

export interface SmtpSettings {
  /** smtp://host:port (STARTTLS) or smtps://host:port (TLS from the first byte). */
  url: string;
  user: string | undefined;
  password: string | undefined;
  /** The From header, e.g. `Roster <no-reply@example.com>`. */
  from: string;
  /** Allow a plain-text connection (and accept any certificate) when the server offers no STARTTLS. */
  insecure: boolean;
  /** PEM of a private CA to trust besides the system's. */
  ca: string | undefined;
  poolSize: number;
  /** Bounds connecting, the greeting and every wait for the server's answer. */
  timeoutMs: number;
}

export interface EmailSender {
  send(to: string, message: EmailMessage, secrets: readonly string[]): Promise<SendResult>;
  close(): void;
}

/** Credentials from the URL unless ROSTER_SMTP_USER / ROSTER_SMTP_PASSWORD give them. */
function smtpEndpoint(settings: Pick<SmtpSettings, "url" | "user" | "password">) {
  const url = new URL(settings.url);
  const secure = url.protocol === "smtps:";
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    user: settings.user ?? (url.username ? decodeURIComponent(url.username) : undefined),
    password: settings.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
  };
}

export function createEmailSender(settings: SmtpSettings): EmailSender {
  const endpoint = smtpEndpoint(settings);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: settings.poolSize,
    maxMessages: 1000,
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    requireTLS: !endpoint.secure && !settings.insecure,
    auth: endpoint.user !== undefined ? { user: endpoint.user, pass: endpoint.password ?? "" } : undefined,
    tls: {
      minVersion: "TLSv1.2",
      ...(settings.ca ? { ca: [settings.ca] } : {}),
      // insecure: the connection may be plain text anyway, so an unverified certificate is no worse
      rejectUnauthorized: !settings.insecure,
    },
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async send(to, message, secrets) {
      try {
        const info = await transport.sendMail({ from: settings.from, to, subject: message.subject, text: message.text, html: message.html });
        return { providerStatus: scrubProviderAnswer(String(info.response ?? "accepted"), secrets) };
      } catch (err) {
        throw classify(err, secrets);
      }
    },
    close: () => transport.close(),
  };
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * A 5xx answer to the message (MAIL, RCPT, DATA) is permanent. A refused login is a fault of the
 * deployment, not of the message: it is retried, so that fixing the credentials delivers the queue.
 */
function classify(err: unknown, secrets: readonly string[]): DeliveryError {
  const e = (err ?? {}) as SmtpFailure;
  const answer = e.response ?? [e.code, e.message].filter(Boolean).join(" ") ?? "SMTP failure";
  const permanent = e.code !== "EAUTH" && typeof e.responseCode === "number" && e.responseCode >= 500 && e.responseCode < 600;
  return new DeliveryError(scrubProviderAnswer(answer || "SMTP failure", secrets), permanent);
}
