/**
 * Commands on one user in this process run one after the other (a lane per store and user), so
 * that concurrent writers of a hot user do not keep invalidating each other's optimistic writes.
 * A command that waited behind another starts from the state that one wrote (the lane remembers
 * it only while commands are queued), which saves the read: its conditional write still proves
 * that state current (every change of a user moves its sequence), and any other outcome is
 * decided again on a fresh read. Other processes are not serialised by this; the sequence check
 * of the write keeps them correct.
 *
 * The state is not kept once the lane is empty: a write that bypasses Roster (a repair, an
 * import, a test) without moving the sequence would otherwise go unnoticed for as long as it
 * stayed remembered.
 */
import type { Store, UserRecord } from "../store.js";

interface Lane {
  tail: Promise<void>;
  holders: number;
  /** The state the latest command in the lane wrote, while others wait behind it. */
  known: UserRecord | undefined;
}

export interface LaneTurn {
  /** The state the previous command in the lane wrote, if it wrote one. */
  known: UserRecord | undefined;
  /** Another command ran before this one (a snapshot read before the lane may be stale). */
  waited: boolean;
  /** What this command wrote (undefined: nothing known). */
  remember(state: UserRecord | undefined): void;
}

const lanes = new WeakMap<Store, Map<string, Lane>>();

export async function inUserLane<T>(store: Store, userId: string, fn: (turn: LaneTurn) => Promise<T>): Promise<T> {
  let perStore = lanes.get(store);
  if (!perStore) lanes.set(store, (perStore = new Map()));
  let lane = perStore.get(userId);
  if (!lane) perStore.set(userId, (lane = { tail: Promise.resolve(), holders: 0, known: undefined }));
  const waited = lane.holders > 0;
  lane.holders++;
  const previous = lane.tail;
  let release!: () => void;
  lane.tail = new Promise<void>((resolve) => (release = resolve));
  await previous;
  const current = lane;
  try {
    return await fn({
      known: current.known,
      waited,
      remember: (state) => {
        current.known = state && { ...state };
      },
    });
  } finally {
    current.holders--;
    if (current.holders === 0) perStore.delete(userId);
    release();
  }
}
