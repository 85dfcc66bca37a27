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
