/**
 * The delivery worker (codes.md §6): sends the outbox's pending notifications after their
 * transaction committed, in every Roster process at once without sending anything twice.
 *
 * - Claims due notifications with FOR UPDATE SKIP LOCKED under a lease (src/store/notification-outbox.ts);
 *   a process that dies mid-send leaves claims that any worker takes over once the lease ran out.
 * - Wakes on LISTEN (insertNotification NOTIFYs in the writing transaction, so the wake-up comes
 *   with the commit), polls as a fallback, and reconnects its listening connection when it drops.
 * - Retries transient failures with exponential backoff and jitter up to `maxAttempts`; a permanent
 *   rejection fails at once. A notification whose code can no longer be used is discarded unsent.
 * - Requests never wait for it: it only reads the outbox.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import type { NotificationChannel } from "../domain/store.js";
import { checkCode } from "../domain/users/verification-codes.js";
import * as outbox from "../store/notification-outbox.js";
import type { ClaimedNotification } from "../store/notification-outbox.js";
import { OUTBOX_CHANNEL } from "../store/notifications.js";
import type { Database } from "../store/schema.js";
import { DeliveryError, maskRecipient, scrubProviderAnswer, type SendResult } from "./delivery-error.js";
import type { EmailSender } from "./email-sender.js";
import { renderEmail, renderSms, type MessageInput } from "./message-render.js";
import { open } from "./sealed-payload.js";
import type { SmsSender } from "./sms-sender.js";
import type { Templates } from "./templates.js";

export interface DeliverySettings {
  /** Sends in flight at most, per process. */
  concurrency: number;
  /**
   * How long a claim stays exclusive without renewal. The worker renews the leases of its sends
   * in flight every third of it, so only a process that stopped (crashed, hung) loses its claims.
   */
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface DeliveryWorkerOptions {
  db: Kysely<Database>;
  /** For the dedicated LISTEN connection. */
  databaseUrl: string;
  logger: Logger;
  keys: { notificationAead: Buffer; codeHmac: Buffer };
  templates: Templates;
  email?: EmailSender;
  sms?: SmsSender;
  settings: DeliverySettings;
  now?: () => Date;
}

export interface DeliveryWorker {
  /** Connects the listener and starts claiming. */
  start(): void;
  /**
   * Stops claiming, waits up to `graceMs` for the sends in flight, gives back the claims of those
   * still running (another process, or this one after a restart, sends them), closes the providers.
   */
  stop(graceMs: number): Promise<{ released: number }>;
}

interface Payload {
  code: string;
  link?: string;
}

const LISTEN_RETRY_MIN_MS = 500;
const SENT_FLUSH_MS = 5;
const SENT_FLUSH_MAX = 64;
const LISTEN_RETRY_MAX_MS = 30_000;

/** Equal jitter: half the exponential delay fixed, half random, so retries of a burst spread out. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

export function createDeliveryWorker(o: DeliveryWorkerOptions): DeliveryWorker {
  const now = o.now ?? (() => new Date());
  const s = o.settings;
  const log = o.logger.child({ component: "delivery" });
  const workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const channels: NotificationChannel[] = [...(o.email ? ["email" as const] : []), ...(o.sms ? ["sms" as const] : [])];
  const inflight = new Map<string, Promise<void>>();
  /** Claim at least this many at once (fewer round trips under load), unless nothing is in flight. */
  const claimBatch = Math.max(1, Math.floor(s.concurrency / 4));

  let running = false;
  let pumping = false;
  let mayHaveMore = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAt = Infinity;
  let renewTimer: NodeJS.Timeout | undefined;
  /** Accepted sends waiting to be recorded: one UPDATE for all that arrive within SENT_FLUSH_MS. */
  let sentQueue: Array<{ id: string; done: (recorded: boolean) => void }> = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let listener: pg.Client | undefined;
  let listenRetryMs = LISTEN_RETRY_MIN_MS;
  let listenTimer: NodeJS.Timeout | undefined;

  function kick(): void {
    mayHaveMore = true;
    void pump();
  }

  async function pump(): Promise<void> {
    if (pumping || !running) return;
    pumping = true;
    try {
      while (running && mayHaveMore) {
        const free = s.concurrency - inflight.size;
        if (free <= 0 || (free < claimBatch && inflight.size > 0)) break; // a finishing send pumps again
        mayHaveMore = false;
        const at = now();
        const claimed = await outbox.claimDue(o.db, {
          workerId,
          channels,
          limit: free,
          now: at,
          leaseUntil: new Date(at.getTime() + s.leaseMs),
        });
        if (claimed.length === free) mayHaveMore = true;
        for (const n of claimed) launch(n);
      }
    } catch (err) {
      // the database is unreachable or failing: the next poll tries again
      mayHaveMore = true;
      log.warn({ err: (err as Error).message }, "delivery: claiming notifications failed");
    } finally {
      pumping = false;
    }
  }

  function launch(n: ClaimedNotification): void {
    const task = deliver(n)
      .catch((err: unknown) => log.error({ notificationId: n.id, err: (err as Error).message }, "delivery: recording the outcome failed"))
      .finally(() => {
        inflight.delete(n.id);
        if (mayHaveMore) void pump();
      });
    inflight.set(n.id, task);
  }

  async function deliver(n: ClaimedNotification): Promise<void> {
    const started = Date.now();
    const base = { notificationId: n.id, channel: n.channel, purpose: n.purpose, userId: n.userId, attempt: n.attempt, recipient: maskRecipient(n.recipient) };
    const record = (outcome: string, fields: Record<string, unknown>, lost: boolean) => {
      const line = { ...base, outcome, ...fields, ms: Date.now() - started };
      if (lost) log.warn(line, "notification delivery: the claim was taken over meanwhile (lease expired)");
      else if (outcome === "sent" || outcome === "discarded") log.info(line, "notification delivery");
      else log.warn(line, "notification delivery");
    };

    let payload: Payload;
    try {
      const opened = open(o.keys.notificationAead, n.encryptedPayload ?? Buffer.alloc(0)) as Partial<Payload>;
      if (typeof opened.code !== "string") throw new Error("no code");
      payload = { code: opened.code, ...(typeof opened.link === "string" ? { link: opened.link } : {}) };
    } catch {
      const reason = "the sealed payload cannot be opened (was the master key replaced?)";
      record("failed", { providerStatus: reason }, !(await outbox.markFailed(o.db, n.id, workerId, reason)));
      return;
    }

    const at = now();
    const unusable = whyUnusable(n, payload.code, at);
    if (unusable) {
      record("discarded", { reason: unusable }, !(await outbox.markDiscarded(o.db, n.id, workerId, unusable)));
      return;
    }

    const secrets = [payload.code, payload.link ?? "", n.recipient];
    let result: SendResult | undefined;
    let failure: DeliveryError | undefined;
    try {
      // bounded by the providers' own timeouts (SMTP socket, HTTP request); never abandoned
      // here while it might still succeed, which would send it twice
      result = await send(n, payload, at, secrets);
    } catch (err) {
      failure =
        err instanceof DeliveryError
          ? err
          : new DeliveryError(scrubProviderAnswer(`internal error: ${(err as Error)?.message ?? String(err)}`, secrets), false);
    }

    if (result) {
      record("sent", { providerStatus: result.providerStatus }, !(await recordSent(n.id)));
      return;
    }
    const f = failure!;
    if (f.permanent || n.attempt >= s.maxAttempts) {
      record("failed", { providerStatus: f.providerStatus, permanent: f.permanent }, !(await outbox.markFailed(o.db, n.id, workerId, f.providerStatus)));
      return;
    }
    const delay = backoffMs(n.attempt, s.backoffBaseMs, s.backoffMaxMs);
    const next = new Date(now().getTime() + delay);
    const lost = !(await outbox.markRetry(o.db, n.id, workerId, next, f.providerStatus));
    record("retry", { providerStatus: f.providerStatus, retryInMs: delay }, lost);
    if (!lost) scheduleRetryWake(delay);
  }

  function whyUnusable(n: ClaimedNotification, code: string, at: Date): string | undefined {
    if (!n.user) return "the user no longer exists";
    const { outcome } = checkCode(o, n.code, n.purpose, n.userId, code, at);
    if (outcome === "match") return undefined;
    return outcome === "expired" ? "the code expired" : outcome === "exhausted" ? "the code is exhausted" : "the code was used or replaced";
  }

  async function send(n: ClaimedNotification, payload: Payload, at: Date, secrets: string[]): Promise<SendResult> {
    const input: MessageInput = {
      purpose: n.purpose,
      userId: n.userId,
      user: n.user!,
      code: payload.code,
      link: payload.link,
      expiresAt: n.code!.expiresAt,
      now: at,
    };
    // only the configured channels are claimed
    if (n.channel === "email") {
      return o.email!.send(n.recipient, renderEmail(o.templates, input), secrets);
    }
    return o.sms!.send(
      {
        notificationId: n.id,
        recipient: n.recipient,
        purpose: n.purpose,
        message: renderSms(o.templates, input).text,
        code: payload.code,
        userId: n.userId,
        language: n.user!.preferredLanguage,
      },
      secrets,
    );
  }

  function recordSent(id: string): Promise<boolean> {
    return new Promise((done) => {
      sentQueue.push({ id, done });
      if (sentQueue.length >= SENT_FLUSH_MAX) void flushSent();
      else flushTimer ??= setTimeout(() => void flushSent(), SENT_FLUSH_MS);
    });
  }

  async function flushSent(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const batch = sentQueue;
    sentQueue = [];
    if (batch.length === 0) return;
    const ids = batch.map((b) => b.id);
    for (let attempt = 1; ; attempt++) {
      try {
        const recorded = await outbox.markSentMany(o.db, ids, workerId, now());
        for (const b of batch) b.done(recorded.has(b.id));
        return;
      } catch (err) {
        // sent but not recorded: keep trying while the leases hold, else they would be sent again
        if (attempt >= 5) {
          log.error({ err: (err as Error).message, notifications: ids.length }, "delivery: recording sent notifications failed; they may be sent again");
          for (const b of batch) b.done(false);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  function renew(): void {
    if (inflight.size === 0) return;
    const ids = [...inflight.keys()];
    outbox.renewLeases(o.db, ids, workerId, new Date(now().getTime() + s.leaseMs)).catch((err: Error) => {
      log.warn({ err: err.message, claims: ids.length }, "delivery: renewing leases failed (another process may take these sends over)");
    });
  }

  function scheduleRetryWake(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (!running || at >= retryAt || delayMs >= s.pollMs) return; // the poll comes first anyway
    if (retryTimer) clearTimeout(retryTimer);
    retryAt = at;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retryAt = Infinity;
      kick();
    }, delayMs);
    retryTimer.unref();
  }

  function listen(): void {
    if (!running) return;
    const client = new pg.Client({ connectionString: o.databaseUrl, keepAlive: true });
    listener = client;
    let dropped = false;
    const onDrop = (why: string) => {
      if (dropped) return;
      dropped = true;
      void client.end().catch(() => {});
      if (listener === client) listener = undefined;
      if (!running) return;
      log.warn({ err: why, retryInMs: listenRetryMs }, "delivery: lost the LISTEN connection; polling until it is back");
      listenTimer = setTimeout(listen, listenRetryMs);
      listenTimer.unref();
      listenRetryMs = Math.min(LISTEN_RETRY_MAX_MS, listenRetryMs * 2);
    };
    client.on("error", (err) => onDrop(err.message));
    client.on("end", () => onDrop("connection ended"));
    client.on("notification", (msg) => {
      if (msg.channel === OUTBOX_CHANNEL && (!msg.payload || channels.includes(msg.payload as NotificationChannel))) kick();
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${OUTBOX_CHANNEL}`))
      .then(() => {
        listenRetryMs = LISTEN_RETRY_MIN_MS;
        kick(); // whatever was committed while not listening
      })
      .catch((err: Error) => onDrop(err.message));
  }

  return {
    start() {
      if (running || channels.length === 0) return;
      running = true;
      listen();
      pollTimer = setInterval(kick, s.pollMs);
      pollTimer.unref();
      renewTimer = setInterval(renew, Math.max(100, Math.floor(s.leaseMs / 3)));
      renewTimer.unref();
      kick();
      log.info({ channels, workerId, concurrency: s.concurrency }, "delivery worker started");
    },

    async stop(graceMs) {
      const wasRunning = running;
      running = false;
      clearInterval(pollTimer);
      clearTimeout(retryTimer);
      clearTimeout(listenTimer);
      const l = listener;
      listener = undefined;
      await l?.end().catch(() => {});
      let released = 0;
      if (wasRunning) {
        // a claim already running completes its round trip before we look at what is in flight
        while (pumping) await new Promise((r) => setTimeout(r, 10));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...inflight.values()]),
          new Promise((r) => (timer = setTimeout(r, graceMs))),
        ]);
        clearTimeout(timer);
        clearInterval(renewTimer);
        if (inflight.size > 0) {
          released = await outbox.release(o.db, [...inflight.keys()], workerId).catch(() => 0);
          log.warn({ released }, "delivery: sends still in flight at shutdown were given back to the outbox");
        }
      }
      o.email?.close();
      return { released };
    },
  };
}
