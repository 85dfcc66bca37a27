/**
 * Commands on one user in this process run one after the other (a lane per store and user), so
 * that concurrent writers of a hot user do not keep invalidating each other's optimistic writes.
 * A command starts from the state the latest command on that user wrote in this process, while
 * it is remembered (a bounded set of recently written users), which saves the read. That state
 * is only a plan: the conditional write proves it current (the store checks the sequence and
 * the row version it wrote, so that a write made beside Roster is noticed too), and any other
 * outcome is decided again on a fresh read. Other processes are not serialised by this; the
 * checks of the write keep them correct.
 */
import type { Store, UserRecord } from "../store.js";

/** Users whose written state is remembered, per store (least recently written go first). */
const RECENT_USERS = 10_000;

interface Lane {
  tail: Promise<void>;
  holders: number;
}

interface PerStore {
  lanes: Map<string, Lane>;
  recent: Map<string, UserRecord>;
}

export interface LaneTurn {
  /** The state the latest command on the user in this process wrote, if remembered. */
  known: UserRecord | undefined;
  /** Another command ran before this one (a snapshot read before the lane may be stale). */
  waited: boolean;
  /**
   * What this command wrote, as the store returned it (undefined: nothing known). Kept as is:
   * the store recognises the record it wrote.
   */
  remember(state: UserRecord | undefined): void;
}

const stores = new WeakMap<Store, PerStore>();

export async function inUserLane<T>(store: Store, userId: string, fn: (turn: LaneTurn) => Promise<T>): Promise<T> {
  let perStore = stores.get(store);
  if (!perStore) stores.set(store, (perStore = { lanes: new Map(), recent: new Map() }));
  const { lanes, recent } = perStore;
  let lane = lanes.get(userId);
  if (!lane) lanes.set(userId, (lane = { tail: Promise.resolve(), holders: 0 }));
  const waited = lane.holders > 0;
  lane.holders++;
  const previous = lane.tail;
  let release!: () => void;
  lane.tail = new Promise<void>((resolve) => (release = resolve));
  await previous;
  try {
    return await fn({
      known: recent.get(userId),
      waited,
      remember: (state) => {
        recent.delete(userId);
        if (!state) return;
        recent.set(userId, state);
        if (recent.size > RECENT_USERS) recent.delete(recent.keys().next().value!);
      },
    });
  } finally {
    lane.holders--;
    if (lane.holders === 0) lanes.delete(userId);
    release();
  }
}
