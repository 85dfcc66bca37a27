import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { open, seal } from "./sealed-payload.js";

const key = randomBytes(32);
const payload = { code: "K3M9QA", link: "https://id.acme.example/verify?user=1&code=K3M9QA", n: 1 };

test("open returns what seal sealed", () => {
  assert.deepEqual(open(key, seal(key, payload)), payload);
  assert.deepEqual(open(key, seal(key, {})), {});
});

test("the sealed form does not contain the plaintext and uses a fresh nonce", () => {
  const a = seal(key, payload);
  const b = seal(key, payload);
  assert.equal(a.includes(Buffer.from("K3M9QA")), false);
  assert.notDeepEqual(a.subarray(0, 12), b.subarray(0, 12));
  assert.notDeepEqual(a, b);
  assert.equal(a.length, 12 + Buffer.byteLength(JSON.stringify(payload)) + 16);
});

test("any flipped bit is detected: nonce, ciphertext or tag", () => {
  const sealed = seal(key, payload);
  for (const index of [0, 11, 12, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
    const tampered = Buffer.from(sealed);
    tampered[index] ^= 0x01;
    assert.throws(() => open(key, tampered), /failed authentication/, `byte ${index}`);
  }
});

test("a truncated or extended payload is refused", () => {
  const sealed = seal(key, payload);
  assert.throws(() => open(key, sealed.subarray(0, sealed.length - 1)), /failed authentication/);
  assert.throws(() => open(key, Buffer.concat([sealed, Buffer.from([0])])), /failed authentication/);
  assert.throws(() => open(key, sealed.subarray(0, 20)), /too short/);
});

test("another key cannot open it", () => {
  assert.throws(() => open(randomBytes(32), seal(key, payload)), /failed authentication/);
});

test("keys must be 32 bytes", () => {
  assert.throws(() => seal(randomBytes(16), payload), /32 bytes/);
  assert.throws(() => open(randomBytes(16), seal(key, payload)), /32 bytes/);
});
