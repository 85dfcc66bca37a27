import type { CodeRecord } from "../store.js";
import type { DomainError } from "../errors.js";

/**
 * A wrong guess at a usable code. Thrown by a command's plan; the command runner then discards
 * everything the command planned, records only the attempt (counter + event), commits that, and
 * fails the request with `error` (decision 4, codes.md §4).
 */
export class FailedCodeAttempt extends Error {
  constructor(
    readonly error: DomainError,
    readonly code: CodeRecord,
    readonly failedAttempts: number,
    /** e.g. `user.human.email.verification.failed` */
    readonly eventType: string,
  ) {
    super(error.message);
    this.name = "FailedCodeAttempt";
  }
}
