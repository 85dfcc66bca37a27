/** Builds this process's delivery worker from the configuration, or says why there is none. */
import { readFileSync } from "node:fs";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { DeliveryConfig } from "../config/config.js";
import type { DerivedKeys } from "../config/keys.js";
import type { Database } from "../store/schema.js";
import { createDeliveryWorker } from "./delivery-worker.js";
import { createEmailSender } from "./email-sender.js";
import { createSmsSender } from "./sms-sender.js";
import { loadTemplates } from "./templates.js";

export interface Delivery {
  stop(graceMs: number): Promise<{ released: number }>;
}

export function startDelivery(opts: {
  config: DeliveryConfig | undefined;
  db: Kysely<Database>;
  databaseUrl: string;
  keys: DerivedKeys;
  logger: Logger;
  now: () => Date;
}): Delivery {
  const { config, logger } = opts;
  const idle: Delivery = { stop: async () => ({ released: 0 }) };
  if (!config) return idle;
  if (!config.enabled) {
    logger.info("delivery is off in this process (ROSTER_DELIVERY=off): other processes send the outbox");
    return idle;
  }
  const channels: Array<"email" | "sms"> = [...(config.smtp ? ["email" as const] : []), ...(config.sms ? ["sms" as const] : [])];
  // read at start, so that a broken override fails the start instead of every send
  const templates = loadTemplates({ overrideDir: config.templatesDir, channels });
  if (!config.smtp) {
    logger.warn("email delivery is not configured (ROSTER_SMTP_URL is unset): email codes and links stay pending in the outbox until it is");
  }
  if (!config.sms) {
    logger.warn("SMS delivery is not configured (ROSTER_SMS_WEBHOOK_URL is unset): SMS codes stay pending in the outbox until it is");
  }
  if (channels.length === 0) return idle;
  const timeoutMs = config.sendTimeoutSeconds * 1000;
  const email = config.smtp
    ? createEmailSender({
        ...config.smtp,
        ca: config.smtp.caFile ? readFileSync(config.smtp.caFile, "utf8") : undefined,
        timeoutMs,
      })
    : undefined;
  const sms = config.sms ? createSmsSender({ ...config.sms, timeoutMs }, opts.now) : undefined;
  const worker = createDeliveryWorker({
    db: opts.db,
    databaseUrl: opts.databaseUrl,
    logger,
    keys: opts.keys,
    templates,
    email,
    sms,
    now: opts.now,
    settings: {
      concurrency: config.concurrency,
      leaseMs: config.leaseSeconds * 1000,
      pollMs: config.pollSeconds * 1000,
      maxAttempts: config.maxAttempts,
      backoffBaseMs: config.backoffBaseMs,
      backoffMaxMs: config.backoffMaxMs,
    },
  });
  worker.start();
  return worker;
}
