import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveKeys, loadMasterKey } from "./keys.js";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "roster-keys-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("ROSTER_MASTER_KEY is used when set, and no file is written", async () => {
  await withTempDir(async (dir) => {
    const key = randomBytes(32);
    assert.deepEqual(await loadMasterKey({ envValue: key.toString("base64"), dataDir: dir }), key);
    assert.deepEqual(await loadMasterKey({ envValue: ` ${key.toString("base64url")}\n`, dataDir: dir }), key);
    assert.deepEqual(await readdir(dir), []);
  });
});

const badEnvValues: Array<[string, string]> = [
  ["31 bytes", randomBytes(31).toString("base64")],
  ["33 bytes", randomBytes(33).toString("base64")],
  ["not base64", "not base64!"],
  ["hex of 32 bytes", randomBytes(32).toString("hex")],
];

for (const [label, bad] of badEnvValues) {
  test(`ROSTER_MASTER_KEY of ${label} is refused with a clear error`, async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(loadMasterKey({ envValue: bad, dataDir: dir }), /ROSTER_MASTER_KEY must be the base64 encoding of exactly 32 bytes/);
    });
  });
}

test("without ROSTER_MASTER_KEY, master.key is created once (0600, base64) and reused", async () => {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, "data");
    const first = await loadMasterKey({ dataDir });
    assert.equal(first.length, 32);
    const path = join(dataDir, "master.key");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(Buffer.from((await readFile(path, "utf8")).trim(), "base64"), first);
    assert.deepEqual(await loadMasterKey({ envValue: "", dataDir }), first);
    assert.deepEqual(await readdir(dataDir), ["master.key"]);
  });
});

test("concurrent first starts agree on one key", async () => {
  await withTempDir(async (dir) => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ dataDir: dir })));
    for (const key of keys) assert.deepEqual(key, keys[0]);
    assert.deepEqual(await readdir(dir), ["master.key"]);
  });
});

test("a corrupt master.key is refused, naming the file", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "master.key"), "short\n");
    await assert.rejects(loadMasterKey({ dataDir: dir }), /master\.key must be the base64 encoding/);
  });
});

test("derived keys are 32 bytes, distinct, and deterministic", () => {
  const master = randomBytes(32);
  const a = deriveKeys(master);
  const b = deriveKeys(Buffer.from(master));
  assert.equal(a.codeHmac.length, 32);
  assert.equal(a.notificationAead.length, 32);
  assert.notDeepEqual(a.codeHmac, a.notificationAead);
  assert.notDeepEqual(a.codeHmac, master);
  assert.deepEqual(a, b);
  assert.notDeepEqual(deriveKeys(randomBytes(32)).codeHmac, a.codeHmac);
});

test("deriveKeys refuses a master key of the wrong size", () => {
  assert.throws(() => deriveKeys(randomBytes(16)), /32 bytes/);
});
