import type { Store, StoreTx, UserRecord } from "../store.js";
import type { DomainError } from "../errors.js";
import { ChangeSet } from "./change-set.js";
import { FailedCodeAttempt } from "./password-step.js";

/**
 * Runs a command in one transaction. A wrong guess at a usable code (FailedCodeAttempt) discards
 * everything the command planned, records only the attempt (counter + event), commits that, and
 * then fails the request with the code error (decision 4, codes.md §4).
 */
export async function runWithAttemptRecording<T>(
  store: Store,
  actorId: string,
  now: Date,
  fn: (tx: StoreTx, lockUser: (id: string) => Promise<UserRecord | undefined>) => Promise<T>,
): Promise<T> {
  const outcome = await store.transaction(async (tx) => {
    let locked: UserRecord | undefined;
    const lockUser = async (id: string) => (locked = await tx.lockUser(id));
    try {
      return { ok: true as const, value: await fn(tx, lockUser) };
    } catch (e) {
      if (!(e instanceof FailedCodeAttempt) || !locked) throw e;
      await tx.setCodeFailedAttempts(locked.id, e.code.purpose, e.failedAttempts);
      const changes = new ChangeSet(locked, actorId, now);
      changes.add(e.eventType, { purpose: e.code.purpose, failedAttempts: e.failedAttempts });
      await changes.commit(tx, locked, "update");
      return { ok: false as const, error: e.error };
    }
  });
  if (!outcome.ok) throw outcome.error as DomainError;
  return outcome.value;
}
