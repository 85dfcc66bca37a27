/** `roster start`: serves the API until SIGTERM/SIGINT, then drains and exits. */
import { pino, type Logger } from "pino";
import { startRoster } from "../app.js";
import { loadConfig } from "../config/load-config.js";
import { createLogger } from "../logger.js";
import type { ParsedArgs } from "./args.js";
import { isWorker, reportListening, runPrimary } from "../workers.js";

export async function start(_args: ParsedArgs): Promise<undefined> {
  const config = loadConfig();
  const worker = isWorker();
  const base = createLogger(config.logLevel);
  const logger = worker ? base.child({ worker: process.pid }) : base;
  if (!worker && (config.workers ?? 1) > 1) {
    await runPrimary(config, logger, config.workers!);
    return undefined;
  }
  const roster = await startRoster(config, logger, {
    worker,
    // The embedded database died for good: exit non-zero with a clear line so that a supervisor
    // (systemd, Kubernetes, docker --restart) starts Roster again.
    onFatal: (err) => {
      logger.fatal({ err: err.message }, "exiting: the embedded database is gone");
      process.exit(1);
    },
  });
  if (worker) reportListening(roster.port);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      dieBy(signal, logger, (log) => log.warn({ signal }, "second signal: exiting without waiting for requests in flight"));
      return;
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    roster.close().then(
      ({ runningHashes }) => {
        if (runningHashes === 0) process.exit(0);
        // A normal exit waits for libuv's threads, and so for every bcrypt still computing.
        dieBy(signal, logger, (log) => log.warn({ runningHashes }, "exiting while password hashing is still running"));
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  // a worker's signals come from its primary (SIGTERM); a terminal's SIGINT reaches the primary too
  process.on("SIGINT", () => (worker ? undefined : stop("SIGINT")));
  // A bug in one request must not take the process down; it is logged and the request fails.
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
  return undefined;
}

/**
 * Ends the process at once, as the signal's default action does (the exit status says "killed by
 * SIGTERM"), without waiting for native work such as bcrypt on libuv's thread pool. Lines queued
 * in the asynchronous log are written first, then `lastWords` synchronously: a signal never emits
 * the "exit" event on which the log would flush itself.
 */
function dieBy(signal: NodeJS.Signals, logger: Logger, lastWords: (log: Logger) => void): never {
  try {
    (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym]?.flushSync?.();
  } catch {
    // a write in progress; what is queued behind it may be lost
  }
  lastWords(createLogger(logger.level, { sync: true }));
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // the default action ends the process before this line runs; just in case it does not:
  process.abort();
}
