/** Recognises PostgreSQL errors by SQLSTATE (pg puts `code` and `constraint` on its errors). */

interface PgError {
  code?: unknown;
  constraint?: unknown;
}

/** unique_violation (23505), optionally on one of the named constraints/indexes. */
export function isUniqueViolation(err: unknown, ...constraints: string[]): boolean {
  if (typeof err !== "object" || err === null) return false;
  const { code, constraint } = err as PgError;
  if (code !== "23505") return false;
  return constraints.length === 0 || (typeof constraint === "string" && constraints.includes(constraint));
}

/**
 * The database cannot be reached or did not answer in time: the request may be retried later.
 * The store raises it for every connection-class failure; the transport answers UNAVAILABLE.
 */
export class DatabaseUnavailable extends Error {
  override readonly name = "DatabaseUnavailable";
}

/** Socket errors that mean the server is gone, unreachable or refused us. */
const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server that is going away or cannot take us: class 08 (connection exception;
 * except 08P01, protocol_violation, which a malformed message of ours causes — e.g. more than
 * 65,535 parameters — and which retrying cannot cure),
 * admin/crash shutdown and "cannot connect now" (57P01–57P03), too many connections (53300),
 * a statement cancelled by statement_timeout (57014) and a session ended by
 * idle_in_transaction_session_timeout (25P03).
 */
const CONNECTION_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "57014", "25P03"]);

/** What pg and pg-pool say when a connection ends, times out or cannot be used any more. */
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|timeout expired|is not queryable|Cannot use a pool after calling end/;

/** True for errors that mean "the database is unavailable" rather than "this statement is wrong". */
export function isConnectionFailure(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 4) return false;
  if (err instanceof DatabaseUnavailable) return true;
  const { code, message, errors, cause } = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === "string") {
    if (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code) && code !== "08P01") return true;
  }
  if (typeof message === "string" && CONNECTION_MESSAGES.test(message)) return true;
  // net.connect with several addresses fails with an AggregateError of one error per address.
  if (Array.isArray(errors) && errors.some((e) => isConnectionFailure(e, depth + 1))) return true;
  return cause !== undefined && isConnectionFailure(cause, depth + 1);
}
