import { Errors } from "../errors.js";

/** A parsed `if-match` precondition (decision 5): a sequence number, or `*` for any user. */
export type IfMatch = { any: true } | { any: false; sequence: number };

/** Parses the header value; undefined when absent or empty. Malformed → ROSTER-seq02. */
export function parseIfMatch(value: string | null | undefined): IfMatch | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (v === "*") return { any: true };
  const m = /^"?(\d{1,15})"?$/.exec(v);
  if (!m || (v.startsWith('"') !== v.endsWith('"'))) throw Errors.ifMatchInvalid();
  return { any: false, sequence: Number(m[1]) };
}

/** Throws ROSTER-seq01 when the precondition does not hold for the user's current sequence. */
export function checkIfMatch(ifMatch: IfMatch | undefined, currentSequence: number): void {
  if (!ifMatch || ifMatch.any) return;
  if (ifMatch.sequence !== currentSequence) throw Errors.sequenceMismatch();
}
