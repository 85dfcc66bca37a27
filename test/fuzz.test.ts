/**
 * Bounded fuzzing of all four protocols against a real Roster (test/support/fuzz.ts): a few
 * thousand mutated requests; every answer must arrive, be no 5xx and no INTERNAL/UNKNOWN, and
 * have its protocol's error shape. The seed is printed; FUZZ_SEED replays a run, FUZZ_REQUESTS
 * changes its size (`npm run fuzz` runs longer ones).
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { after, before, test } from "node:test";
import { createWorld, rest, type World } from "./support/fixtures.js";
import { describeFailure, FUZZ_PROTOCOLS, runFuzz } from "./support/fuzz.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);

let roster: TestRoster;
let world: World;

before(async () => {
  roster = await startTestRoster();
  world = await createWorld(roster);
});

after(async () => {
  await roster?.close();
});

test(`fuzz: ${REQUESTS} mutated requests over REST, Connect, gRPC-web and gRPC (seed ${SEED})`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED}, or npm run fuzz -- --seed ${SEED})`);
  const run = await runFuzz(
    {
      port: roster.port,
      adminToken: roster.adminToken,
      userToken: world.ada.token,
      userIds: { ada: world.ada.id, bob: world.bob.id, nora: world.nora.id },
      orgId: world.acme,
    },
    { seed: SEED, requests: REQUESTS, concurrency: 12, timeoutMs: 15_000 },
  );
  for (const [outcome, count] of Object.entries(run.outcomes).sort()) t.diagnostic(`${outcome}: ${count}`);
  assert.equal(
    run.failures.length,
    0,
    `seed ${SEED}: ${run.failures.length} bad answers, first ones:\n${run.failures.slice(0, 10).map((f) => describeFailure(SEED, f)).join("\n")}`,
  );
  // the fuzzer reached the handlers on every protocol, not only the decoders
  for (const protocol of FUZZ_PROTOCOLS) {
    const ok = Object.entries(run.outcomes).filter(([k]) => k === `${protocol} HTTP 200` || k === `${protocol} grpc-status 0`);
    assert.ok(ok.length > 0 && ok[0]![1] > 0, `${protocol}: some requests succeeded`);
  }
  // and Roster still serves
  const after = await rest(roster, "GET", `/v2/users/${world.ada.id}`, { token: roster.adminToken });
  assert.equal(after.status, 200);
});
