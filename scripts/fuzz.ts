/**
 * Longer fuzz runs than CI's (test/fuzz.test.ts), on a Roster of their own (a fresh database on
 * DATABASE_URL's server, or an embedded PostgreSQL):
 *
 *   npm run fuzz -- --requests 50000 [--seed 123] [--concurrency 12] [--only 17,230] [--timeout 15000]
 *
 * FUZZ_REQUESTS and FUZZ_SEED work too. Prints the seed, a summary of the answers, and every
 * bad answer with the command that replays it; exits 1 when there was one.
 */
import { parseArgs } from "node:util";
import { randomInt } from "node:crypto";
import { createWorld } from "../test/support/fixtures.js";
import { describeFailure, runFuzz } from "../test/support/fuzz.js";
import { startTestRoster } from "../test/support/roster.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string" },
    seed: { type: "string" },
    concurrency: { type: "string" },
    only: { type: "string" },
    timeout: { type: "string" },
  },
});

function whole(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number, got "${text}"`);
  return Number(text);
}

const seed = whole("seed", values.seed ?? process.env.FUZZ_SEED, randomInt(2 ** 31));
const requests = whole("requests", values.requests ?? process.env.FUZZ_REQUESTS, 10_000);
const concurrency = whole("concurrency", values.concurrency, 12);
const timeoutMs = whole("timeout", values.timeout, 15_000);
const only = values.only?.split(",").map((i) => whole("only", i.trim(), 0));

console.log(`fuzz: seed ${seed}, ${only ? `requests ${only.join(",")}` : `${requests} requests`}, concurrency ${concurrency}`);
const roster = await startTestRoster();
let exitCode = 0;
try {
  const world = await createWorld(roster);
  const started = Date.now();
  let lastReport = started;
  const run = await runFuzz(
    {
      port: roster.port,
      adminToken: roster.adminToken,
      userToken: world.ada.token,
      userIds: { ada: world.ada.id, bob: world.bob.id, nora: world.nora.id },
      orgId: world.acme,
    },
    {
      seed,
      requests,
      concurrency,
      timeoutMs,
      only,
      onProgress: (done) => {
        if (Date.now() - lastReport < 5000) return;
        lastReport = Date.now();
        console.log(`  ${done} requests, ${Math.round((done * 1000) / (Date.now() - started))}/s`);
      },
    },
  );
  console.log(`done: ${run.requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const [outcome, count] of Object.entries(run.outcomes).sort()) console.log(`  ${outcome}: ${count}`);
  for (const failure of run.failures) console.log(describeFailure(seed, failure));
  console.log(run.failures.length === 0 ? "no bad answers" : `${run.failures.length} bad answers (seed ${seed})`);
  if (run.failures.length > 0) exitCode = 1;
} finally {
  await roster.close();
}
process.exitCode = exitCode;
