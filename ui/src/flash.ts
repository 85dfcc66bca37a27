import type { Child } from "./dom.js";

/** A message shown once, on the next page (after a navigation that followed a success). */
let pending: Child[] | null = null;

export function setFlash(...message: Child[]): void {
  pending = message;
}

export function takeFlash(): Child[] | null {
  const m = pending;
  pending = null;
  return m;
}
