/**
 * Commands on one user in this process run one after the other (a lane per store and user), so
 * that concurrent writers of a hot user do not keep invalidating each other's optimistic writes.
 * A command starts from the state the latest command on that user wrote in this process, when
 * it is still remembered (a bounded set of recently written users), which saves the read: its
 * conditional write still proves that state current (every change of a user moves its
 * sequence), and any other outcome is decided again on a fresh read. Other processes are not
 * serialised by this; the sequence check of the write keeps them correct.
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
  /** What this command wrote (undefined: nothing known). */
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
  const current = lane;
  try {
    return await fn({
      known: recent.get(userId),
      waited,
      remember: (state) => {
        recent.delete(userId);
        if (!state) return;
        recent.set(userId, { ...state });
        if (recent.size > RECENT_USERS) recent.delete(recent.keys().next().value!);
      },
    });
  } finally {
    current.holders--;
    if (current.holders === 0) lanes.delete(userId);
    release();
  }
}
