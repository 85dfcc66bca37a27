/** Types of scripts/build.mjs for the TypeScript tests that import it. */
export const BUILD_STAMP: string;
export function buildNeeded(): boolean;
export function build(opts?: { ifStale?: boolean }): boolean;
