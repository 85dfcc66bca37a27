// Compiles the server (src/ → dist/) with tsc, and copies the files it reads at run time (message
// templates and any other non-TypeScript file under src/). dist/ui, the console, is built by
// scripts/ensure-ui.mjs and left alone here.
//
//   node scripts/build.mjs             build
//   node scripts/build.mjs --if-stale  build only when dist/ is missing or older than its sources
//   node scripts/build.mjs --check     exit 1 when a build is needed (build nothing)
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { newestMtime, withLock } from "./build-lock.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(root, "dist");
/** Written last: its presence and age say whether dist/ holds a complete build of the sources. */
export const BUILD_STAMP = join(DIST, ".build-stamp");
const SOURCES = [join(root, "src"), join(root, "tsconfig.json"), join(root, "tsconfig.build.json"), join(root, "package-lock.json")];

export function buildNeeded() {
  if (!existsSync(BUILD_STAMP)) return true;
  const built = statSync(BUILD_STAMP).mtimeMs;
  return SOURCES.some((s) => existsSync(s) && newestMtime(s) > built);
}

/** Every file under src/ that tsc does not emit and the server reads at run time. */
function copyAssets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const from = join(dir, entry.name);
    if (entry.isDirectory()) {
      copyAssets(from);
    } else if (!entry.name.endsWith(".ts")) {
      const to = join(DIST, relative(join(root, "src"), from));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  }
}

/** Runs the build, once at a time across processes (a lock directory guards it). */
export function build({ ifStale = false } = {}) {
  if (ifStale && !buildNeeded()) return false;
  mkdirSync(DIST, { recursive: true });
  return withLock(join(DIST, ".build.lock"), 180_000, () => {
    if (ifStale && !buildNeeded()) return false; // built by the process that held the lock
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    if (!existsSync(tsc)) {
      throw new Error("dist/ is missing or out of date and TypeScript is not installed: run `npm install` (with dev dependencies), then `npm run build`");
    }
    // A file deleted from src/ must not live on in dist/: start from an empty tree (but the console).
    rmSync(BUILD_STAMP, { force: true });
    for (const entry of readdirSync(DIST)) {
      if (entry !== "ui" && entry !== ".build.lock" && entry !== ".ui-build.lock") rmSync(join(DIST, entry), { recursive: true, force: true });
    }
    const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`tsc failed (exit ${r.status ?? r.signal})`);
    copyAssets(join(root, "src"));
    writeFileSync(BUILD_STAMP, `${new Date().toISOString()}\n`);
    return true;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--check")) process.exit(buildNeeded() ? 1 : 0);
  try {
    build({ ifStale: process.argv.includes("--if-stale") });
  } catch (e) {
    console.error(`roster: ${e.message}`);
    process.exitCode = 1;
  }
}
