// Roster as the benchmark runs it: its own process, compiled (dist/, `npm run build`), the same
// startRoster as `roster start`, with the statement hook counting every statement sent to the
// database. The benchmark asks for the count over IPC ("count" → { statements }); SIGTERM shuts
// down as `roster start` does, so that `--cpu-prof` can write its profile at exit.
import { pino } from "pino";
import { startRoster } from "../dist/app.js";
import { loadConfig } from "../dist/config/load-config.js";

let statements = 0;
const config = loadConfig();
const roster = await startRoster(config, pino({ level: process.env.ROSTER_LOG_LEVEL ?? "warn" }), {
  onStatement: () => {
    statements++;
  },
});
process.send?.({ ready: true, port: roster.port });
process.on("message", (m) => {
  if (m === "count") process.send?.({ statements });
});
process.on("SIGTERM", () => {
  roster.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
