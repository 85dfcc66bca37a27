import type { MembershipRecord } from "./store.js";

/** The authenticated caller of a request. */
export interface Principal {
  userId: string;
  /** The caller's own organization (its resource owner). */
  orgId: string;
  memberships: MembershipRecord[];
}
