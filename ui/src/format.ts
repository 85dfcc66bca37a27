import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { UserState } from "../../src/gen/zitadel/user/v2/user_pb.js";

export const STATE_LABELS: Record<number, string> = {
  [UserState.UNSPECIFIED]: "Unspecified",
  [UserState.ACTIVE]: "Active",
  [UserState.INACTIVE]: "Inactive",
  [UserState.DELETED]: "Deleted",
  [UserState.LOCKED]: "Locked",
  [UserState.INITIAL]: "Initial",
};

export function stateLabel(state: UserState): string {
  return STATE_LABELS[state] ?? `State ${state}`;
}

/** A timestamp in the reader's locale, and its exact ISO form for a `<time datetime>`. */
export function timeText(ts: Timestamp | undefined): { text: string; iso: string } | undefined {
  if (!ts) return undefined;
  const date = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
  return { text: date.toLocaleString(), iso: date.toISOString() };
}
