import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./load-config.js";

const base = { ROSTER_DATA_DIR: "/tmp/roster-config-test" };

test("delivery is on by default, with no provider configured", () => {
  const d = loadConfig(base).delivery!;
  assert.equal(d.enabled, true);
  assert.equal(d.smtp, undefined);
  assert.equal(d.sms, undefined);
  assert.deepEqual(
    [d.maxAttempts, d.leaseSeconds, d.sendTimeoutSeconds, d.pollSeconds, d.concurrency, d.backoffBaseMs, d.backoffMaxMs],
    [8, 120, 30, 10, 16, 10_000, 3_600_000],
  );
  assert.equal(loadConfig({ ...base, ROSTER_DELIVERY: "off" }).delivery!.enabled, false);
});

test("SMTP and the SMS webhook are read with their credentials", () => {
  const d = loadConfig({
    ...base,
    ROSTER_SMTP_URL: "smtps://mailer:pw@mail.example.com:465",
    ROSTER_SMTP_FROM: "Roster <no-reply@example.com>",
    ROSTER_SMTP_USER: "other",
    ROSTER_SMTP_INSECURE: "true",
    ROSTER_SMTP_POOL_SIZE: "3",
    ROSTER_SMS_WEBHOOK_URL: "https://sms.example.com/hook",
    ROSTER_SMS_WEBHOOK_SECRET: "0123456789abcdef",
  }).delivery!;
  assert.deepEqual(d.smtp, {
    url: "smtps://mailer:pw@mail.example.com:465",
    user: "other",
    password: undefined,
    from: "Roster <no-reply@example.com>",
    insecure: true,
    caFile: undefined,
    poolSize: 3,
  });
  assert.deepEqual(d.sms, { url: "https://sms.example.com/hook", secret: "0123456789abcdef" });
});

test("a broken delivery setting stops the start, naming the variable", () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ ROSTER_DELIVERY: "maybe" }, /ROSTER_DELIVERY must be on or off/],
    [{ ROSTER_SMTP_URL: "http://mail.example.com", ROSTER_SMTP_FROM: "a@b.c" }, /ROSTER_SMTP_URL must start with smtp:\/\/ or smtps:\/\//],
    [{ ROSTER_SMTP_URL: "smtp://mail.example.com" }, /ROSTER_SMTP_FROM is required/],
    [{ ROSTER_SMS_WEBHOOK_URL: "https://sms.example.com", ROSTER_SMS_WEBHOOK_SECRET: "short" }, /ROSTER_SMS_WEBHOOK_SECRET must be set \(at least 16/],
    [{ ROSTER_SMS_WEBHOOK_URL: "ftp://sms.example.com", ROSTER_SMS_WEBHOOK_SECRET: "0123456789abcdef" }, /ROSTER_SMS_WEBHOOK_URL must be an http/],
    [{ ROSTER_DELIVERY_LEASE_SECONDS: "30" }, /ROSTER_DELIVERY_LEASE_SECONDS \(30\) must be longer than ROSTER_DELIVERY_SEND_TIMEOUT_SECONDS \(30\)/],
    [{ ROSTER_DELIVERY_MAX_ATTEMPTS: "0" }, /ROSTER_DELIVERY_MAX_ATTEMPTS must be a whole number from 1/],
  ];
  for (const [env, message] of bad) assert.throws(() => loadConfig({ ...base, ...env }), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
});
