// Builds the console (ui/ → dist/ui) when dist/ui is missing or older than its sources, so that
// `npm start` on a fresh clone serves a working console. Also imported by the browser tests.
//
//   node scripts/ensure-ui.mjs          build when needed
//   node scripts/ensure-ui.mjs --check  exit 1 when a build is needed (build nothing)
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { newestMtime, withLock } from "./build-lock.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const UI_OUT_DIR = join(root, "dist", "ui");
const BUILT_MARKER = join(UI_OUT_DIR, "index.html");
/** Everything the build reads besides node_modules: the pages and the generated descriptors. */
const SOURCES = [join(root, "ui"), join(root, "src", "gen"), join(root, "package-lock.json")];

export function uiBuildNeeded() {
  if (!existsSync(BUILT_MARKER)) return true;
  const built = statSync(BUILT_MARKER).mtimeMs;
  return SOURCES.some((s) => existsSync(s) && newestMtime(s) > built);
}

/** Runs `vite build` (once at a time across processes: a lock directory guards it). */
export function ensureUiBuilt({ quiet = false } = {}) {
  if (!uiBuildNeeded()) return false;
  return withLock(join(root, "dist", ".ui-build.lock"), 120_000, () => {
    if (!uiBuildNeeded()) return false; // built by the process that held the lock
    const vite = join(root, "node_modules", "vite", "bin", "vite.js");
    if (!existsSync(vite)) {
      throw new Error("the console is not built and vite is not installed: run `npm install` (with dev dependencies), then `npm run build:ui`");
    }
    const r = spawnSync(process.execPath, [vite, "build", "--config", join(root, "ui", "vite.config.ts"), ...(quiet ? ["--logLevel", "warn"] : [])], {
      cwd: root,
      stdio: "inherit",
    });
    if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status ?? r.signal})`);
    return true;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--check")) {
    process.exit(uiBuildNeeded() ? 1 : 0);
  }
  try {
    ensureUiBuilt();
  } catch (e) {
    console.error(`roster: ${e.message}`);
    // Roster still starts; /ui/ answers 503 until the console is built.
    process.exitCode = 0;
  }
}
