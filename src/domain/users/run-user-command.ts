import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { DomainError, Errors } from "../errors.js";
import { UsernameConflict, type StoreTx, type UserRecord } from "../store.js";
import { ChangeSet, detailsOf, type Details } from "./change-set.js";
import { FailedCodeAttempt } from "./failed-attempt.js";
import { checkIfMatch, parseIfMatch } from "./if-match.js";

/** What a command's plan works with: the locked user, a draft of its new state and the change set. */
export interface UserCommandContext<P> {
  deps: DomainDeps;
  principal: Principal;
  tx: StoreTx;
  /** The user as stored, locked until the transaction ends. */
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

/**
 * Runs a user command: validate the precondition, optional pre-lock work, then in one
 * transaction lock the user, guard, check `if-match`, plan, and write the new state, events,
 * codes and notifications together. A plan that records no event writes nothing and answers the
 * current details. A wrong guess at a usable code commits only the failed attempt.
 */
export async function runUserCommand<P, R extends object>(
  deps: DomainDeps,
  principal: Principal,
  command: UserCommand<P, R>,
): Promise<UserCommandResult<R>> {
  const precondition = parseIfMatch(command.ifMatch);

  let prework: P | undefined;
  if (command.prepare) {
    const snapshot = await deps.store.read.getUser(command.userId);
    try {
      prework = await command.prepare(command.guard(snapshot));
    } catch (e) {
      // the locked run below reports the same failure in its proper order
      if (!(e instanceof DomainError)) throw e;
    }
  }

  const now = deps.now();
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
