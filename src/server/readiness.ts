/**
 * Whether Roster should receive traffic: the database answers and the server is not draining
 * (a server exists only once migrations are done and the instance is there). `/readyz`, the gRPC health service and its watchers read it; the
 * shutdown marks it draining first, before the drain begins.
 */
export type ReadinessReason = "draining" | "database";

export interface ReadinessResult {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: ReadinessReason;
  /** The database error in words (never a connection string); logged, not sent to clients. */
  detail?: string;
}

export interface Readiness {
  /** Draining from now on: every later check answers not ready. Idempotent. */
  markDraining(): void;
  readonly draining: boolean;
  check(): Promise<ReadinessResult>;
  /** Called once with no argument when draining begins (watchers end their streams). */
  onDraining(listener: () => void): () => void;
}

export interface ReadinessOptions {
  /** One round trip to the database; rejects when it does not answer. */
  pingDatabase?: () => Promise<void>;
  /** A ping slower than this counts as "not answering". */
  pingTimeoutMs?: number;
  /** Told when the database stops or starts answering again (once per change, not per check). */
  onDatabaseChange?: (answering: boolean, detail?: string) => void;
}

export function createReadiness(options: ReadinessOptions = {}): Readiness {
  const timeoutMs = options.pingTimeoutMs ?? 2_000;
  let draining = false;
  const listeners = new Set<() => void>();
  /** Concurrent checks share one ping. */
  let ping: Promise<ReadinessResult> | undefined;
  let answering = true;
  const note = (result: ReadinessResult): ReadinessResult => {
    if (result.ready !== answering) {
      answering = result.ready;
      options.onDatabaseChange?.(answering, result.detail);
    }
    return result;
  };

  const pingOnce = async (): Promise<ReadinessResult> => {
    if (!options.pingDatabase) return { ready: true };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.pingDatabase(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: "database", detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    markDraining() {
      if (draining) return;
      draining = true;
      for (const listener of [...listeners]) listener();
      listeners.clear();
    },
    get draining() {
      return draining;
    },
    async check() {
      if (draining) return { ready: false, reason: "draining" };
      ping ??= pingOnce()
        .then(note)
        .finally(() => (ping = undefined));
      const result = await ping;
      // draining may have begun while the ping was on its way
      return draining ? { ready: false, reason: "draining" } : result;
    },
    onDraining(listener) {
      if (draining) {
        listener();
        return () => {};
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
