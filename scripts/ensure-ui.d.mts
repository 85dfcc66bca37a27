/** Types of scripts/ensure-ui.mjs for the TypeScript tests that import it. */
export const UI_OUT_DIR: string;
export function uiBuildNeeded(): boolean;
export function ensureUiBuilt(opts?: { quiet?: boolean }): boolean;
