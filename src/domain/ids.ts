import { randomInt } from "node:crypto";

/** A new 18-digit decimal id, as ZITADEL's ids look (clients treat them as opaque). */
export function newId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 17; i++) id += String(randomInt(10));
  return id;
}
