import { Errors } from "../errors.js";
import type { UserStore } from "../store.js";

/** Unicode White_Space at either end (ZITADEL trims usernames the same way). */
const SURROUNDING_WHITE_SPACE = /^[\s\u0085]+|[\s\u0085]+$/gu;

/** The username as stored: trimmed of surrounding white space; undefined when nothing is left. */
export function trimUsername(username: string): string | undefined {
  const trimmed = username.replace(SURROUNDING_WHITE_SPACE, "");
  return trimmed === "" ? undefined : trimmed;
}

/** ALREADY_EXISTS V3-DKcYh when a live user other than `exceptUserId` holds the name (case-folded). */
export async function assertUsernameFree(store: Pick<UserStore, "usernameTaken">, username: string, exceptUserId?: string): Promise<void> {
  if (await store.usernameTaken(username, exceptUserId)) throw Errors.usernameTaken();
}
