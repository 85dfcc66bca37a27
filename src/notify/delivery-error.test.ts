import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffMs } from "./delivery-worker.js";
import { maskRecipient, scrubProviderAnswer } from "./delivery-error.js";
import { signWebhookBody } from "./sms-sender.js";
import { createHmac } from "node:crypto";

test("a provider's answer loses the message's secrets and any address, number or URL", () => {
  const answer = "550 5.1.1 <ada@example.com>: mailbox for K3M9QA at https://id.example/v?c=K3M9QA unknown, call +41 79 555 01 23\r\n";
  const scrubbed = scrubProviderAnswer(answer, ["K3M9QA", "ada@example.com"]);
  assert.equal(scrubbed, "550 5.1.1 <[redacted]>: mailbox for [redacted] at [url] unknown, call [number]");
  assert.equal(scrubProviderAnswer("x".repeat(1000), []).length, 301);
});

test("recipients are masked for logs", () => {
  assert.equal(maskRecipient("ada.lovelace@example.com"), "a***@example.com");
  assert.equal(maskRecipient("+41795550123"), "+41*******23");
  assert.equal(maskRecipient("123"), "***");
});

test("backoff doubles from the base up to the maximum, half of it jitter", () => {
  assert.equal(backoffMs(1, 1000, 60_000, () => 0), 500);
  assert.equal(backoffMs(1, 1000, 60_000, () => 1), 1000);
  assert.equal(backoffMs(3, 1000, 60_000, () => 1), 4000);
  assert.equal(backoffMs(20, 1000, 60_000, () => 1), 60_000);
  assert.equal(backoffMs(20, 1000, 60_000, () => 0), 30_000);
});

test("the webhook signature is HMAC-SHA-256 over '<t>.<body>'", () => {
  const body = JSON.stringify({ a: 1 });
  const mac = createHmac("sha256", "secret").update(`1700000000.${body}`).digest("hex");
  assert.equal(signWebhookBody("secret", body, 1_700_000_000), `t=1700000000,v1=${mac}`);
});
