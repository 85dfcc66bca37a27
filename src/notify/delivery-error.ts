/**
 * How a provider refused a message. `permanent`: retrying cannot help (SMTP 5xx, HTTP 4xx), so the
 * notification fails at once; otherwise it is retried with backoff.
 */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  constructor(
    /** The provider's answer, already stripped of secrets (see `scrubProviderAnswer`). */
    readonly providerStatus: string,
    readonly permanent: boolean,
  ) {
    super(providerStatus);
  }
}

/** What the provider said when it accepted a message. */
export interface SendResult {
  providerStatus: string;
}

const MAX_ANSWER_CHARS = 300;
const EMAIL_ADDRESS = /[^\s<>()"',;:]+@[^\s<>()"',;:]+/g;
const PHONE_NUMBER = /\+?\d[\d \-()]{6,}\d/g;
const URL = /\bhttps?:\/\/\S+/gi;

/**
 * A provider's answer as it may be logged and stored: the secrets of this message (code, link,
 * recipient) removed wherever they occur, any address, phone number or URL masked (SMTP servers
 * like to echo the recipient), control characters flattened, the length bounded.
 */
export function scrubProviderAnswer(answer: string, secrets: readonly string[]): string {
  let text = answer;
  for (const secret of secrets) if (secret) text = text.split(secret).join("[redacted]");
  text = text
    .replace(URL, "[url]")
    .replace(EMAIL_ADDRESS, "[address]")
    .replace(PHONE_NUMBER, "[number]")
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim();
  return text.length > MAX_ANSWER_CHARS ? `${text.slice(0, MAX_ANSWER_CHARS)}…` : text;
}

/** A recipient as logs may show it: `j***@example.com`, `+41*******23`. */
export function maskRecipient(recipient: string): string {
  const at = recipient.lastIndexOf("@");
  if (at > 0) return `${recipient[0]}***${recipient.slice(at)}`;
  if (recipient.length <= 5) return "***";
  return `${recipient.slice(0, 3)}${"*".repeat(recipient.length - 5)}${recipient.slice(-2)}`;
}
