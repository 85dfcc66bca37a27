import { pino, type Logger } from "pino";

/** JSON lines on stdout. Secrets never reach the logger; these paths are redacted as a backstop. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "roster" },
    redact: { paths: ["authorization", "*.authorization", "password", "*.password", "token", "*.token"], censor: "[redacted]" },
  });
}
