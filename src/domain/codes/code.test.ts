import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { CODE_ALPHABET, codeMatches, generateCode, hashCode } from "./code.js";

const key = randomBytes(32);

test("codes have the requested length and only A–Z0–9", () => {
  for (const length of [6, 8, 20]) {
    const code = generateCode(length);
    assert.equal(code.length, length);
    assert.match(code, /^[A-Z0-9]+$/);
  }
  assert.throws(() => generateCode(0), RangeError);
  assert.throws(() => generateCode(2.5), RangeError);
});

test("the alphabet is the 36 characters A–Z and 0–9", () => {
  assert.equal(CODE_ALPHABET.length, 36);
  assert.equal(new Set(CODE_ALPHABET).size, 36);
  assert.match(CODE_ALPHABET, /^[A-Z0-9]{36}$/);
});

test("characters are uniform over all 36, including 9", () => {
  const perSymbol = 3000;
  const sample = generateCode(36 * perSymbol);
  const counts = new Map<string, number>();
  for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.equal(counts.size, 36);
  assert.ok((counts.get("9") ?? 0) > 0, "9 must occur");
  // Pearson's chi-square, 35 degrees of freedom: a uniform source exceeds 100 with probability
  // 4e-8, while `byte % 36` (four symbols favoured by 8/7) lands around 240.
  let chiSquare = 0;
  for (const n of counts.values()) chiSquare += (n - perSymbol) ** 2 / perSymbol;
  assert.ok(chiSquare < 100, `chi-square ${chiSquare.toFixed(1)}`);
});

test("hashCode is HMAC-SHA-256 over purpose, NUL, user id, NUL, code", () => {
  const expected = createHmac("sha256", key).update("email\0" + "300000000000000100\0" + "K3M9QA").digest();
  assert.deepEqual(hashCode(key, "email", "300000000000000100", "K3M9QA"), expected);
  assert.equal(expected.length, 32);
});

test("a code matches only for its purpose, user, key and exact spelling", () => {
  const record = { hash: hashCode(key, "password_reset", "300000000000000100", "K3M9QA") };
  assert.equal(codeMatches(key, record, "password_reset", "300000000000000100", "K3M9QA"), true);
  assert.equal(codeMatches(key, record, "password_reset", "300000000000000100", "k3m9qa"), false);
  assert.equal(codeMatches(key, record, "password_reset", "300000000000000100", "K3M9QB"), false);
  assert.equal(codeMatches(key, record, "email", "300000000000000100", "K3M9QA"), false);
  assert.equal(codeMatches(key, record, "phone", "300000000000000100", "K3M9QA"), false);
  assert.equal(codeMatches(key, record, "password_reset", "300000000000000101", "K3M9QA"), false);
  assert.equal(codeMatches(randomBytes(32), record, "password_reset", "300000000000000100", "K3M9QA"), false);
});

test("the separator keeps user id and code apart", () => {
  assert.notDeepEqual(hashCode(key, "email", "12", "3ABC"), hashCode(key, "email", "123", "ABC"));
});

test("a stored hash of the wrong length never matches", () => {
  assert.equal(codeMatches(key, { hash: Buffer.alloc(0) }, "email", "1", "A"), false);
  assert.equal(codeMatches(key, { hash: Buffer.alloc(31) }, "email", "1", "A"), false);
});
