import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { DomainError, Errors } from "../errors.js";
import { UsernameConflict, type StoreReader, type StoreTx, type UserRecord } from "../store.js";
import { ChangeSet, detailsOf, type Details } from "./change-set.js";
import { FailedCodeAttempt } from "./failed-attempt.js";
import { checkIfMatch, parseIfMatch, type IfMatch } from "./if-match.js";
import { inUserLane } from "./user-lanes.js";

/** What a command's plan works with: the locked user, a draft of its new state and the change set. */
export interface UserCommandContext<P> {
  deps: DomainDeps;
  principal: Principal;
  tx: StoreTx;
  /**
   * The user as stored: locked until the transaction ends, or (fast path) a snapshot whose
   * sequence the write checks. `tx` then only reads; a plan that writes through it falls back
   * to the locked run.
   */
  user: UserRecord;
  /** The new state; the plan mutates it. */
  draft: UserRecord;
  changes: ChangeSet;
  /** What `prepare` computed before the lock (undefined when it was skipped or failed). */
  prework: P | undefined;
  now: Date;
}

/**
 * One write command on an existing user. The runner supplies the skeleton every such command
 * shares; the command supplies only what is particular to it.
 */
export interface UserCommand<P, R extends object> {
  userId: string;
  /** Raw `if-match` header value (decision 5); parsed before anything is read. */
  ifMatch?: string | null;
  /**
   * The checks of the RPC on the stored user, in the spec's order: not found (with the RPC's own
   * error id), state preconditions, permission. Throws the first failure; returns the user.
   */
  guard(user: UserRecord | undefined): UserRecord;
  /**
   * Slow work (bcrypt) done before the row is locked, on an unlocked snapshot that passed the
   * guard. A DomainError here is not the answer: the locked run reports errors in their order.
   */
  prepare?(snapshot: UserRecord): Promise<P>;
  /** Plans the change on `draft` and `changes`; returns the response values beyond `details`. */
  plan(ctx: UserCommandContext<P>): Promise<R> | R;
}

export type UserCommandResult<R> = R & { details: Details };

/** Fast-path attempts before a command falls back to locking the row (each one re-reads the user). */
const OPTIMISTIC_ATTEMPTS = 3;

/**
 * Runs a user command: validate the precondition, optional pre-lock work, then, in the user's
 * lane (user-lanes.ts: one command per user at a time in this process), read the user and guard,
 * check `if-match` and plan on that snapshot. A change of the user row and its events only
 * (and discarded codes) is written in one statement that applies only if the user's sequence is still the snapshot's
 * (optimistic concurrency; on a conflict the command is re-run on a fresh read). Anything more
 * (codes, notifications, purge, a failed code attempt) runs in one transaction that locks the
 * user and re-runs guard, `if-match` and plan on the locked row, writing the new state, events,
 * codes and notifications together. A plan that records no event writes nothing and answers the
 * current details. A wrong guess at a usable code commits only the failed attempt.
 */
export async function runUserCommand<P, R extends object>(
  deps: DomainDeps,
  principal: Principal,
  command: UserCommand<P, R>,
): Promise<UserCommandResult<R>> {
  const precondition = parseIfMatch(command.ifMatch);
  const read = () => deps.store.read.getUser(command.userId);

  let snapshot: UserRecord | undefined;
  let prework: P | undefined;
  if (command.prepare) {
    // the slow work runs before the lane, so that it does not hold up other commands on the user
    snapshot = await read();
    try {
      prework = await command.prepare(command.guard(snapshot));
    } catch (e) {
      // the run below reports the same failure in its proper order
      if (!(e instanceof DomainError)) throw e;
    }
  }

  const now = deps.now();
  return inUserLane(deps.store, command.userId, async (turn) => {
    // a state remembered from the previous command in the lane is proven only by a write
    let unproven = turn.known !== undefined;
    if (turn.known) snapshot = turn.known;
    else if (!command.prepare || turn.waited) snapshot = await read();
    turn.remember(undefined);
    for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; ) {
      let outcome: SnapshotOutcome<R>;
      try {
        outcome = await runOnSnapshot(deps, principal, command, precondition, snapshot, prework, now);
      } catch (e) {
        if (!unproven || !(e instanceof DomainError)) throw e;
        outcome = { kind: "conflict" };
      }
      if (outcome.kind === "done" && (!unproven || outcome.written)) {
        if (outcome.written) turn.remember(outcome.written);
        return outcome.value;
      }
      if (outcome.kind === "lock") break;
      // a write that found the user changed, or an answer on a remembered state: decide again on a fresh read
      if (!unproven) attempt++;
      unproven = false;
      snapshot = await read();
    }
    return runLocked(deps, principal, command, precondition, prework, now);
  });
}

type SnapshotOutcome<R> =
  /** `written`: the state the conditional write stored (absent when nothing was written). */
  | { kind: "done"; value: UserCommandResult<R>; written?: UserRecord }
  | { kind: "conflict" }
  | { kind: "lock" };

/** Raised by the read-only handle of the fast path when a plan wants to write: run it locked. */
class NeedsLock extends Error {}

/** What a plan may read on the fast path (each its own statement; the sequence check covers them). */
const SNAPSHOT_READS: ReadonlySet<string> = new Set<keyof StoreReader>(["getUser", "usernameTaken", "getMetadata", "getCode", "getOrg", "getMemberships"]);

/** The reads of `reader`; anything else (writes, locks) throws NeedsLock. */
function readOnlyTx(reader: StoreReader): StoreTx {
  return new Proxy({} as StoreTx, {
    get(_target, name) {
      if (typeof name === "string" && SNAPSHOT_READS.has(name)) {
        const read = reader[name as keyof StoreReader] as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => read(...args);
      }
      return () => Promise.reject(new NeedsLock(String(name)));
    },
  });
}

/** The fast path: guard, `if-match` and plan on an unlocked snapshot, one conditional write. */
async function runOnSnapshot<P, R extends object>(
  deps: DomainDeps,
  principal: Principal,
  command: UserCommand<P, R>,
  precondition: IfMatch | undefined,
  snapshot: UserRecord | undefined,
  prework: P | undefined,
  now: Date,
): Promise<SnapshotOutcome<R>> {
  const user = command.guard(snapshot);
  checkIfMatch(precondition, user.sequence);
  const draft: UserRecord = { ...user };
  const changes = new ChangeSet(user, principal.userId, now);
  let extra: R;
  try {
    extra = await command.plan({ deps, principal, tx: readOnlyTx(deps.store.read), user, draft, changes, prework, now });
  } catch (e) {
    if (e instanceof FailedCodeAttempt || e instanceof NeedsLock) return { kind: "lock" };
    throw e;
  }
  if (changes.isEmpty) return { kind: "done", value: { ...extra, details: detailsOf(user) } };
  if (!changes.onlyUserAndEvents) return { kind: "lock" };
  const after: UserRecord = { ...draft, sequence: changes.sequence, changedAt: changes.at };
  let applied: boolean;
  try {
    applied = await deps.store.applyUserChange({
      before: user,
      after,
      events: changes.events,
      discardCodes: changes.discardedCodes,
      principalChanged: takesRights(user, after),
    });
  } catch (e) {
    if (e instanceof UsernameConflict) throw Errors.usernameTaken();
    throw e;
  }
  return applied ? { kind: "done", value: { ...extra, details: detailsOf(after) }, written: after } : { kind: "conflict" };
}

/** A user whose state changes (locked, deactivated, deleted, reactivated): every process must drop what it cached of it. */
function takesRights(before: UserRecord, after: UserRecord): boolean {
  return before.state !== after.state;
}

/** The locked path: one transaction that locks the user, guards, checks `if-match`, plans and writes. */
async function runLocked<P, R extends object>(
  deps: DomainDeps,
  principal: Principal,
  command: UserCommand<P, R>,
  precondition: IfMatch | undefined,
  prework: P | undefined,
  now: Date,
): Promise<UserCommandResult<R>> {
  const outcome = await deps.store.transaction(async (tx) => {
    const user = command.guard(await tx.lockUser(command.userId));
    checkIfMatch(precondition, user.sequence);
    const draft: UserRecord = { ...user };
    const changes = new ChangeSet(user, principal.userId, now);
    let extra: R;
    try {
      extra = await command.plan({ deps, principal, tx, user, draft, changes, prework, now });
    } catch (e) {
      if (!(e instanceof FailedCodeAttempt)) throw e;
      await recordFailedAttempt(tx, user, principal.userId, now, e);
      return { ok: false as const, error: e.error };
    }
    if (changes.isEmpty) return { ok: true as const, value: { ...extra, details: detailsOf(user) } };
    const saved = await commitUserChange(tx, changes, draft);
    if (takesRights(user, saved)) await tx.principalChanged(user.id);
    return { ok: true as const, value: { ...extra, details: detailsOf(saved) } };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** The attempt alone: counter + 1 and its event, committed although the request fails. */
async function recordFailedAttempt(tx: StoreTx, user: UserRecord, actorId: string, now: Date, attempt: FailedCodeAttempt): Promise<void> {
  await tx.setCodeFailedAttempts(user.id, attempt.code.purpose, attempt.failedAttempts);
  const changes = new ChangeSet(user, actorId, now);
  changes.add(attempt.eventType, { purpose: attempt.code.purpose, failedAttempts: attempt.failedAttempts });
  await changes.commit(tx, user, "update");
}

/** Commits a planned change of an existing user; a username taken concurrently → V3-DKcYh. */
async function commitUserChange(tx: StoreTx, changes: ChangeSet, draft: UserRecord): Promise<UserRecord> {
  try {
    return await changes.commit(tx, draft, "update");
  } catch (e) {
    if (e instanceof UsernameConflict) throw Errors.usernameTaken();
    throw e;
  }
}
