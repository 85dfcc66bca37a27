import { pino, type Logger } from "pino";
import { requestBindings } from "./log-context.js";

/**
 * JSON lines on stdout. Secrets never reach the logger; these paths are redacted as a backstop.
 * Lines are written asynchronously (and flushed on exit) unless `sync` is set, for the last words
 * of a process that is about to end without an "exit" event.
 */
export function createLogger(level: string, opts: { sync?: boolean; /** file descriptor (default 1, stdout) */ destination?: 1 | 2 } = {}): Logger {
  const options = {
    level,
    base: { service: "roster" },
    // every line written while a request is served names it (see log-context.ts)
    mixin: requestBindings,
    redact: { paths: ["authorization", "*.authorization", "password", "*.password", "token", "*.token"], censor: "[redacted]" },
  };
  if (opts.sync || opts.destination === 2) return pino(options, pino.destination({ dest: opts.destination ?? 1, sync: true }));
  return pino(options);
}
