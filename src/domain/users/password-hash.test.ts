import { test } from "node:test";
import assert from "node:assert/strict";
import { assertSupportedHash, createLimiter, createPasswordHasher, DEFAULT_MAX_IMPORT_COST, isSupportedBcryptHash, setMaxImportCost } from "./password-hash.js";
import { DomainError } from "../errors.js";

const isError = (id: string) => (e: unknown) => e instanceof DomainError && e.id === id;
const salted = "abcdefghijklmnopqrstuv" + "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"; // 22 + 31 = 53
const hasher = createPasswordHasher({ cost: 4, maxConcurrent: 2 });

test("accepts well-formed bcrypt hashes", () => {
  for (const prefix of ["$2a$", "$2b$", "$2y$"]) {
    for (const cost of ["04", "10", "12", "31"]) {
      assert.equal(isSupportedBcryptHash(`${prefix}${cost}$${salted}`), true, `${prefix}${cost}`);
    }
  }
  assert.equal(isSupportedBcryptHash(`$2b$10$./${salted.slice(2)}`), true);
});

const unsupported = [
  "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
  "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
  "$pbkdf2-sha256$29000$N2bMOUfIOQXAmBOilJKSEg$rEeDU3Zz8QJCyWB8p3BQhA2BIaHvGrVB1ODkLnhPlMo",
  "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
  "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
  `$2x$10$${salted}`,
  `$2$10$${salted}`,
  `$2b$03$${salted}`,
  `$2b$32$${salted}`,
  `$2b$4$${salted}`,
  `$2b$10$${salted.slice(1)}`,
  `$2b$10$${salted}x`,
  `$2b$10$${salted.slice(1)}!`,
  `$2b$10$${salted.slice(1)}+`,
  ` $2b$10$${salted}`,
  `$2b$10$${salted}\n`,
  "",
];

for (const hash of unsupported) {
  test(`rejects ${JSON.stringify(hash.slice(0, 24))}… with USER-oz74onzvqr`, () => {
    assert.equal(isSupportedBcryptHash(hash), false);
    assert.throws(() => assertSupportedHash(hash), isError("USER-oz74onzvqr"));
  });
}

test("hash produces a supported hash at the configured cost that verifies", async () => {
  const hash = await hasher.hash("Analytical-1843");
  assert.match(hash, /^\$2b\$04\$/);
  assert.equal(isSupportedBcryptHash(hash), true);
  assert.equal(await hasher.verify("Analytical-1843", hash), true);
  assert.equal(await hasher.verify("analytical-1843", hash), false);
  assert.equal(await hasher.verify("", hash), false);
});

test("hash refuses passwords over 72 bytes", async () => {
  await assert.rejects(hasher.hash("x".repeat(73)), isError("ROSTER-pw072"));
});

test("verify never matches a password over 72 bytes, though bcrypt would", async () => {
  const pw = "x".repeat(72);
  const hash = await hasher.hash(pw);
  assert.equal(await hasher.verify(pw, hash), true);
  assert.equal(await hasher.verify(`${pw}y`, hash), false);
});

test("verify treats $2a$ and $2y$ hashes as bcrypt", async () => {
  const hash = await hasher.hash("Engine-Difference-2");
  const rest = hash.slice(4);
  for (const prefix of ["$2a$", "$2y$"]) {
    assert.equal(await hasher.verify("Engine-Difference-2", prefix + rest), true, prefix);
    assert.equal(await hasher.verify("Engine-Difference-3", prefix + rest), false, prefix);
  }
});

test("verify accepts a $2y$ hash made by PHP", async () => {
  // password_hash("rasmuslerdorf", PASSWORD_BCRYPT) from PHP's documentation.
  const php = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
  assert.equal(await hasher.verify("rasmuslerdorf", php), true);
  assert.equal(await hasher.verify("rasmuslerdorF", php), false);
});

test("verify is false for an unsupported or garbage hash", async () => {
  assert.equal(await hasher.verify("x", "not a hash"), false);
  assert.equal(await hasher.verify("x", `$2b$04$${"z".repeat(53)}`), false);
});

test("a NUL byte does not truncate the password", async () => {
  const hash = await hasher.hash("a\0b-Secret");
  assert.equal(await hasher.verify("a\0c-Secret", hash), false);
  assert.equal(await hasher.verify("a", hash), false);
});

test("options are checked", () => {
  assert.throws(() => createPasswordHasher({ cost: 3, maxConcurrent: 1 }), RangeError);
  assert.throws(() => createPasswordHasher({ cost: 32, maxConcurrent: 1 }), RangeError);
  assert.throws(() => createPasswordHasher({ cost: 10, maxConcurrent: 0 }), RangeError);
});

test("limiter runs at most `max` tasks at once, then the rest in order", async () => {
  const limit = createLimiter(2);
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const gates: Array<() => void> = [];
  const results = Array.from({ length: 5 }, (_, i) =>
    limit(async () => {
      running++;
      peak = Math.max(peak, running);
      started.push(i);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      return i;
    }),
  );
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  await tick();
  assert.deepEqual(started, [0, 1]);
  for (let round = 0; round < 20 && (started.length < 5 || gates.length > 0); round++) {
    gates.shift()?.();
    await tick();
  }
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
});

test("limiter frees the slot when a task fails", async () => {
  const limit = createLimiter(1);
  await assert.rejects(limit(async () => { throw new Error("boom"); }), /boom/);
  assert.equal(await limit(async () => "next"), "next");
});

test("many concurrent hashes through the hasher all verify", async () => {
  const passwords = Array.from({ length: 6 }, (_, i) => `Pw-${i}-abcdefgh`);
  const hashes = await Promise.all(passwords.map((p) => hasher.hash(p)));
  const checks = await Promise.all(hashes.map((h, i) => hasher.verify(passwords[i], h)));
  assert.deepEqual(checks, passwords.map(() => true));
});

// ---- bounded cost and shutdown (hardening) ----

const fakeHash = (cost: number) => `$2b$${String(cost).padStart(2, "0")}$${salted}`;

test("imported hashes above the cost bound are refused with ROSTER-pwc01; at the bound they are accepted", () => {
  assert.equal(DEFAULT_MAX_IMPORT_COST, 14);
  assert.doesNotThrow(() => assertSupportedHash(fakeHash(14)));
  for (const cost of [15, 20, 30, 31]) {
    assert.throws(
      () => assertSupportedHash(fakeHash(cost)),
      (e: unknown) => e instanceof DomainError && e.id === "ROSTER-pwc01" && e.kind === "InvalidArgument" && e.text.includes("14"),
      `cost ${cost}`,
    );
  }
});

test("the import bound is configurable", () => {
  setMaxImportCost(10);
  try {
    assert.doesNotThrow(() => assertSupportedHash(fakeHash(10)));
    assert.throws(() => assertSupportedHash(fakeHash(11)), isError("ROSTER-pwc01"));
  } finally {
    setMaxImportCost(DEFAULT_MAX_IMPORT_COST);
  }
  assert.throws(() => setMaxImportCost(3), RangeError);
  assert.throws(() => setMaxImportCost(32), RangeError);
});

test("a stored hash above the verify bound never matches, and no bcrypt runs at its cost", async () => {
  const bounded = createPasswordHasher({ cost: 4, maxConcurrent: 1, maxVerifyCost: 10 });
  // cost 31 would take days: if it were computed, this test would time out
  assert.equal(await bounded.verify("whatever", fakeHash(31)), false);
  assert.equal(await bounded.verify("whatever", fakeHash(11)), false);
  const ok = await bounded.hash("Bounded-Pass-1");
  assert.equal(await bounded.verify("Bounded-Pass-1", ok), true);
});

test("close rejects queued and later operations with UNAVAILABLE; the running one finishes", async () => {
  const h = createPasswordHasher({ cost: 10, maxConcurrent: 1 });
  const running = h.hash("First-Pass-1");
  const queued = h.hash("Second-Pass-1");
  await new Promise((r) => setImmediate(r));
  const state = h.close();
  assert.equal(state.running, 1);
  await assert.rejects(queued, (e: unknown) => e instanceof DomainError && e.kind === "Unavailable" && e.id === "ROSTER-shut1");
  await assert.rejects(h.verify("x", await running), isError("ROSTER-shut1"));
  await assert.rejects(h.hash("Third-Pass-1"), isError("ROSTER-shut1"));
  assert.equal(h.close().running, 0);
});
