import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizePhone } from "./phone.js";
import { DomainError } from "../errors.js";

const accepted: Array<[string, string]> = [
  ["+41 79 555 01 23", "+41795550123"],
  ["079 555 01 23", "+41795550123"],
  ["0041795550123", "+41795550123"],
  ["044 668 18 00", "+41446681800"],
  ["+1 (415) 555-0100", "+14155550100"],
  ["12", "+4112"],
  ["tel:+41795550123", "+41795550123"],
  ["tel:+41-79-555-01-23;ext=5", "+41795550123"],
  ["+41 79 555 01 23 ext. 12", "+41795550123"],
];

for (const [input, expected] of accepted) {
  test(`normalizePhone(${JSON.stringify(input)}) → ${expected}`, () => {
    assert.equal(normalizePhone(input), expected);
  });
}

for (const input of ["abc", "+999 123456", "+41 1", "0795550123456789012", "", "+41"]) {
  test(`normalizePhone(${JSON.stringify(input)}) is rejected with PHONE-so0wa`, () => {
    assert.throws(
      () => normalizePhone(input),
      (e: unknown) => e instanceof DomainError && e.id === "PHONE-so0wa" && e.kind === "InvalidArgument",
    );
  });
}
