#!/usr/bin/env node
/** The `roster` command: `start` (default), `migrate`, `ready`, `admin`, `token`, `key`; `--help` lists them. */
import { runCli } from "./cli/run-cli.js";

const status = await runCli(process.argv.slice(2));
if (status !== undefined) {
  process.exitCode = status;
  // a one-shot command is done: nothing it left behind (a socket closing slowly) may keep it alive
  setTimeout(() => process.exit(), 5_000).unref();
}
