/**
 * Continuous load for fault tests: a few workers each send one request after another until
 * stopped, and every request's outcome is recorded, so that a test can state what every single
 * request in flight during a fault was answered.
 */

export interface LoadOutcome<T> {
  worker: number;
  /** Index of the request within all requests, in the order they were started. */
  seq: number;
  /** True when the request started after `mark()` was last called. */
  afterMark: number;
  result: T;
}

export interface Load<T> {
  outcomes: LoadOutcome<T>[];
  /** Starts a new phase: outcomes of requests started from now on carry the new mark. */
  mark(): number;
  /** Outcomes of requests started in or after phase `mark`. */
  since(mark: number): LoadOutcome<T>[];
  /** Stops starting requests and waits for the ones in flight. */
  stop(): Promise<LoadOutcome<T>[]>;
}

/** Runs `workers` loops of `request` (which must not throw: it classifies its own failures). */
export function startLoad<T>(workers: number, request: (worker: number, seq: number) => Promise<T>): Load<T> {
  const outcomes: LoadOutcome<T>[] = [];
  let stopped = false;
  let seq = 0;
  let phase = 0;
  const loops = Array.from({ length: workers }, async (_, worker) => {
    while (!stopped) {
      const n = seq++;
      const started = phase;
      const result = await request(worker, n);
      outcomes.push({ worker, seq: n, afterMark: started, result });
      // yield, so that a fast failure (connection refused) does not starve the event loop
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    outcomes,
    mark: () => ++phase,
    since: (mark) => outcomes.filter((o) => o.afterMark >= mark),
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
