import { pino, type Logger } from "pino";

/**
 * JSON lines on stdout. Secrets never reach the logger; these paths are redacted as a backstop.
 * Lines are written asynchronously (and flushed on exit) unless `sync` is set, for the last words
 * of a process that is about to end without an "exit" event.
 */
export function createLogger(level: string, opts: { sync?: boolean } = {}): Logger {
  const options = {
    level,
    base: { service: "roster" },
    redact: { paths: ["authorization", "*.authorization", "password", "*.password", "token", "*.token"], censor: "[redacted]" },
  };
  return opts.sync ? pino(options, pino.destination({ dest: 1, sync: true })) : pino(options);
}
