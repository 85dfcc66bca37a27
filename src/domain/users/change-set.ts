import type { CodePurpose, CodeRecord, NewEvent, NewNotification, StoreTx, UserRecord } from "../store.js";
import type { IssuedCode } from "./verification-codes.js";

/**
 * Everything one command will write for one user, planned in memory and written at once by
 * `commit`: the events (numbered from the user's current sequence, sharing one timestamp), the
 * codes to store or discard and the notifications to queue. Nothing is written before the plan
 * is complete, so a failing step leaves nothing behind.
 */
export class ChangeSet {
  readonly events: NewEvent[] = [];
  private readonly codeWrites = new Map<CodePurpose, CodeRecord | null>();
  private readonly notifications: NewNotification[] = [];
  private purge = false;

  constructor(
    private readonly user: Pick<UserRecord, "id" | "orgId" | "sequence">,
    private readonly actorId: string,
    readonly at: Date,
  ) {}

  add(type: string, payload: Record<string, unknown> = {}): void {
    this.events.push({
      aggregateType: "user",
      aggregateId: this.user.id,
      sequence: this.user.sequence + this.events.length + 1,
      type,
      payload: { userId: this.user.id, ...payload },
      actorId: this.actorId,
      orgId: this.user.orgId,
      createdAt: this.at,
    });
  }

  /** Stores a new code of its purpose, replacing the previous one. */
  putCode(code: CodeRecord): void {
    this.codeWrites.set(code.purpose, code);
  }

  /** Discards the pending code of that purpose, if any. */
  discardCode(purpose: CodePurpose): void {
    this.codeWrites.set(purpose, null);
  }

  queueNotification(n: NewNotification): void {
    this.notifications.push(n);
  }

  /** Stores a newly issued code, queues its notification when it is sent, and records `eventType`. */
  addIssuedCode(issued: IssuedCode, eventType: string): void {
    this.putCode(issued.record);
    if (issued.notification) this.queueNotification(issued.notification);
    this.add(eventType, issued.eventPayload);
  }

  /**
   * Removes the user's stored metadata, codes, pending notifications, memberships and tokens
   * (DeleteUser; AddHumanUser reusing a deleted user's id). Codes and notifications planned
   * before this call are dropped; those planned after it are written.
   */
  purgeUserData(): void {
    this.purge = true;
    this.codeWrites.clear();
    this.notifications.length = 0;
  }

  get isEmpty(): boolean {
    return this.events.length === 0;
  }

  /**
   * Nothing to write beyond the user's row, the events and discarded codes (the runner's
   * one-statement path).
   */
  get onlyUserAndEvents(): boolean {
    return !this.purge && this.notifications.length === 0 && [...this.codeWrites.values()].every((c) => c === null);
  }

  /** The purposes whose pending code this change discards. */
  get discardedCodes(): CodePurpose[] {
    return [...this.codeWrites].filter(([, c]) => c === null).map(([purpose]) => purpose);
  }

  /** The user's sequence after these events. */
  get sequence(): number {
    return this.user.sequence + this.events.length;
  }

  /** Writes the new user state, the events, the codes and the notifications in `tx`. */
  async commit(tx: StoreTx, newState: UserRecord, mode: "insert" | "update"): Promise<UserRecord> {
    const user: UserRecord = { ...newState, sequence: this.sequence, changedAt: this.at };
    if (mode === "insert") await tx.insertUser(user);
    else await tx.updateUser(user);
    await tx.appendEvents(this.events);
    if (this.purge) await tx.purgeUserData(user.id);
    for (const [purpose, code] of this.codeWrites) {
      if (code) await tx.putCode(code);
      else await tx.deleteCode(user.id, purpose);
    }
    for (const n of this.notifications) await tx.insertNotification(n);
    return user;
  }
}

/** `details` of a response: the user's sequence, latest change and organization. */
export interface Details {
  sequence: number;
  changeDate: Date;
  resourceOwner: string;
  creationDate?: Date;
}

export function detailsOf(user: Pick<UserRecord, "sequence" | "changedAt" | "orgId">): Details {
  return { sequence: user.sequence, changeDate: user.changedAt, resourceOwner: user.orgId };
}
