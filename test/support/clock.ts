/** A clock tests move by hand, so that expiry is tested without sleeping. */
export interface TestClock {
  now: () => Date;
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void;
}

export function createTestClock(start: Date = new Date()): TestClock {
  let offset = 0;
  const base = start.getTime() - Date.now();
  return {
    // follows real time (so ordering of writes stays natural), shifted by what the test advanced
    now: () => new Date(Date.now() + base + offset),
    advance(ms) {
      offset += ms;
    },
  };
}
