/**
 * The delivery side of the outbox (codes.md §6): claiming due notifications under a lease, and
 * recording what became of each. Every statement names the claiming worker, so a worker whose
 * lease ran out (and whose claim another process took over) cannot overwrite the newer outcome.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { CodePurpose, NotificationChannel } from "../domain/store.js";

type OutboxStatus = "pending" | "sending" | "sent" | "failed" | "discarded";

/** What a message says of its recipient user. */
export interface MessageUser {
  orgId: string;
  displayName: string;
  givenName: string;
  familyName: string;
  username: string;
  preferredLanguage: string;
}

/** A claimed notification with what its message needs: the user and the code it delivers. */
export interface ClaimedNotification {
  id: string;
  userId: string;
  channel: NotificationChannel;
  recipient: string;
  purpose: CodePurpose;
  /** undefined only if the row was somehow stripped of it (then it cannot be sent). */
  encryptedPayload: Buffer | undefined;
  /** This attempt's number, from 1. */
  attempt: number;
  /** undefined when the user is gone. */
  user: MessageUser | undefined;
  /** The user's current code of this purpose; undefined when there is none (used up, discarded). */
  code: { hash: Buffer; expiresAt: Date; failedAttempts: number } | undefined;
}

interface ClaimOptions {
  workerId: string;
  channels: readonly NotificationChannel[];
  limit: number;
  now: Date;
  leaseUntil: Date;
}

interface ClaimRow {
  id: string;
  user_id: string;
  channel: string;
  recipient: string;
  purpose: string;
  encrypted_payload: Buffer | null;
  attempts: number;
  org_id: string | null;
  display_name: string | null;
  given_name: string | null;
  family_name: string | null;
  username: string | null;
  preferred_language: string | null;
  code_hash: Buffer | null;
  code_expires_at: Date | null;
  code_failed_attempts: number | null;
}

/**
 * Claims up to `limit` notifications of the given channels that are due (pending and due, or
 * claimed under a lease that has run out), oldest first. SKIP LOCKED lets concurrent workers
 * claim disjoint sets without waiting for each other; the claim counts as an attempt.
 */
export async function claimDue(db: Kysely<Database>, o: ClaimOptions): Promise<ClaimedNotification[]> {
  if (o.channels.length === 0 || o.limit <= 0) return [];
  const { rows } = await sql<ClaimRow>`
    WITH due AS (
      SELECT id, user_id, purpose FROM notifications
      WHERE channel IN (${sql.join(o.channels)})
        AND ((status = 'pending' AND next_attempt_at <= ${o.now})
          OR (status = 'sending' AND lease_until <= ${o.now}))
      ORDER BY id
      LIMIT ${o.limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE notifications AS n
    SET status = 'sending', claimed_by = ${o.workerId}, lease_until = ${o.leaseUntil}, attempts = n.attempts + 1
    FROM due
      LEFT JOIN users u ON u.id = due.user_id
      LEFT JOIN codes c ON c.user_id = due.user_id AND c.purpose = due.purpose
    WHERE n.id = due.id
    RETURNING n.id, n.user_id, n.channel, n.recipient, n.purpose, n.encrypted_payload, n.attempts,
      u.org_id, u.display_name, u.given_name, u.family_name, u.username, u.preferred_language,
      c.hash AS code_hash, c.expires_at AS code_expires_at, c.failed_attempts AS code_failed_attempts`.execute(db);
  return rows
    .map((r) => ({
      id: String(r.id),
      userId: r.user_id,
      channel: r.channel as NotificationChannel,
      recipient: r.recipient,
      purpose: r.purpose as CodePurpose,
      encryptedPayload: r.encrypted_payload ?? undefined,
      attempt: r.attempts,
      user:
        r.org_id === null
          ? undefined
          : {
              orgId: r.org_id,
              displayName: r.display_name ?? "",
              givenName: r.given_name ?? "",
              familyName: r.family_name ?? "",
              username: r.username ?? "",
              preferredLanguage: r.preferred_language ?? "",
            },
      code:
        r.code_hash === null
          ? undefined
          : { hash: r.code_hash, expiresAt: r.code_expires_at!, failedAttempts: r.code_failed_attempts ?? 0 },
    }))
    .sort((a, b) => compareIds(a.id, b.id));
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The provider accepted these messages: the secret payloads go, the rows stay as the record. One
 * round trip for many; returns the ids that were still this worker's claims.
 */
export async function markSentMany(db: Kysely<Database>, ids: readonly string[], workerId: string, now: Date): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .updateTable("notifications")
    .set({ status: "sent", sent_at: now, last_error: null, encrypted_payload: null, lease_until: null, claimed_by: null })
    .where(sql<boolean>`id = ANY(${[...ids]}::bigint[])`)
    .where("status", "=", "sending")
    .where("claimed_by", "=", workerId)
    .returning("id")
    .execute();
  return new Set(rows.map((r) => String(r.id)));
}

/** Final failure (permanent rejection, or the last attempt): the payload goes too. */
export async function markFailed(db: Kysely<Database>, id: string, workerId: string, lastError: string): Promise<boolean> {
  return finish(db, id, workerId, { status: "failed", last_error: lastError });
}

/** Not sent because its code can no longer be used (verified, replaced, expired, user deleted). */
export async function markDiscarded(db: Kysely<Database>, id: string, workerId: string, reason: string): Promise<boolean> {
  return finish(db, id, workerId, { status: "discarded", last_error: reason });
}

async function finish(
  db: Kysely<Database>,
  id: string,
  workerId: string,
  set: { status: OutboxStatus; last_error: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable("notifications")
    .set({ ...set, encrypted_payload: null, lease_until: null, claimed_by: null })
    .where(sql<boolean>`id = ${id}`)
    .where("status", "=", "sending")
    .where("claimed_by", "=", workerId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A transient failure: pending again, due at `nextAttemptAt`. */
export async function markRetry(
  db: Kysely<Database>,
  id: string,
  workerId: string,
  nextAttemptAt: Date,
  lastError: string,
): Promise<boolean> {
  const result = await db
    .updateTable("notifications")
    .set({ status: "pending", next_attempt_at: nextAttemptAt, last_error: lastError, lease_until: null, claimed_by: null })
    .where(sql<boolean>`id = ${id}`)
    .where("status", "=", "sending")
    .where("claimed_by", "=", workerId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Gives claims back untouched (shutdown before they were sent): pending again and due at once,
 * and the claim does not count as an attempt.
 */
export async function release(db: Kysely<Database>, ids: readonly string[], workerId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable("notifications")
    .set((eb) => ({
      status: "pending",
      lease_until: null,
      claimed_by: null,
      attempts: sql<number>`greatest(${eb.ref("attempts")} - 1, 0)`,
    }))
    .where(sql<boolean>`id = ANY(${[...ids]}::bigint[])`)
    .where("status", "=", "sending")
    .where("claimed_by", "=", workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Extends the lease of claims still being sent, so that a slow provider never lets another worker
 * take over a send in progress: a lease runs out only when its process stopped renewing it.
 */
export async function renewLeases(db: Kysely<Database>, ids: readonly string[], workerId: string, leaseUntil: Date): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable("notifications")
    .set({ lease_until: leaseUntil })
    .where(sql<boolean>`id = ANY(${[...ids]}::bigint[])`)
    .where("status", "=", "sending")
    .where("claimed_by", "=", workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export type OutboxCounts = Record<OutboxStatus, number>;

/** Notifications by state, for metrics. */
export async function outboxCounts(db: Kysely<Database>): Promise<OutboxCounts> {
  const rows = await db
    .selectFrom("notifications")
    .select((eb) => ["status", eb.fn.countAll<string>().as("n")])
    .groupBy("status")
    .execute();
  const counts: OutboxCounts = { pending: 0, sending: 0, sent: 0, failed: 0, discarded: 0 };
  for (const r of rows) if (Object.hasOwn(counts, r.status)) counts[r.status as OutboxStatus] = Number(r.n);
  return counts;
}
