import type { ListQuery } from "../gen/zitadel/object/v2/object_pb.js";
import { TextQueryMethod } from "../gen/zitadel/object/v2/object_pb.js";
import type { TextMatch } from "../domain/users/user-filter.js";

/** The paging part of a list request (`zitadel.object.v2.ListQuery`) as plain numbers; absent → first page, default size, descending. */
export function pagingInput(q: ListQuery | undefined): { offset: number; limit: number; asc: boolean } {
  const offset = q?.offset ?? 0n;
  // An offset beyond 2^53 skips everything any table can hold, exactly as that offset would.
  const safe = offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(offset);
  return { offset: safe, limit: q?.limit ?? 0, asc: q?.asc ?? false };
}

const TEXT_METHODS: Record<TextQueryMethod, TextMatch> = {
  [TextQueryMethod.EQUALS]: { op: "equals", ignoreCase: false },
  [TextQueryMethod.EQUALS_IGNORE_CASE]: { op: "equals", ignoreCase: true },
  [TextQueryMethod.STARTS_WITH]: { op: "startsWith", ignoreCase: false },
  [TextQueryMethod.STARTS_WITH_IGNORE_CASE]: { op: "startsWith", ignoreCase: true },
  [TextQueryMethod.CONTAINS]: { op: "contains", ignoreCase: false },
  [TextQueryMethod.CONTAINS_IGNORE_CASE]: { op: "contains", ignoreCase: true },
  [TextQueryMethod.ENDS_WITH]: { op: "endsWith", ignoreCase: false },
  [TextQueryMethod.ENDS_WITH_IGNORE_CASE]: { op: "endsWith", ignoreCase: true },
};

/** `zitadel.object.v2.TextQueryMethod` → the domain's text match (the field rules admit defined values only). */
export function textMatch(method: TextQueryMethod): TextMatch {
  const m = TEXT_METHODS[method];
  if (!m) throw new Error(`text query method ${method} passed the field rules`);
  return m;
}
