/**
 * GET/HEAD /ui/*: the built console and self-service pages (`npm run build:ui`), from files on
 * disk. App routes (paths whose last segment has no extension) get index.html, which routes in the
 * browser; files get their content type and caching by kind; everything else is 404. Every answer
 * carries the pages' security headers.
 */
import { realpathSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { Logger } from "pino";
import { requestLogOf, type NodeRequest, type NodeResponse } from "./interceptors/logging.js";

export const UI_PREFIX = "/ui";

/** True for `/ui`, `/ui/…` and `/ui?…`: the requests this handler answers. */
export function isUiPath(url: string): boolean {
  return url === UI_PREFIX || url.startsWith(`${UI_PREFIX}/`) || url.startsWith(`${UI_PREFIX}?`);
}

/**
 * The pages load only their own scripts and styles and talk only to their own origin; no inline
 * code (Trusted Types keep string-to-HTML sinks closed as well), no framing, no referrer (the
 * self-service links carry codes in their query).
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": UI_CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".map", ".json", ".svg", ".txt", ".webmanifest"]);

/** Vite puts content-hashed file names under assets/: they never change, so cache them for good. */
const HASHED_ASSETS_DIR = "assets";
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

export interface UiHandlerOptions {
  /** The build output; undefined → no pages (404). */
  root: string | undefined;
  logger: Logger;
}

type Handler = (req: NodeRequest, res: NodeResponse) => void;

interface CachedFile {
  key: string;
  body: Buffer;
  gzipped?: Buffer;
}

function existingRealPath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

export function createUiHandler(opts: UiHandlerOptions): Handler {
  let resolvedRoot = opts.root === undefined ? undefined : existingRealPath(opts.root);
  if (opts.root !== undefined && resolvedRoot === undefined) {
    opts.logger.warn({ uiDir: opts.root }, "console not built: /ui/ answers 503 until `npm run build:ui` has run");
  }
  /** The build folder, looked up again while it does not exist (a build after the start is served). */
  const currentRoot = (): string | undefined => (resolvedRoot ??= opts.root === undefined ? undefined : existingRealPath(opts.root));
  /** Files by path; an entry is reused while size and mtime are unchanged (a rebuild replaces it). */
  const cache = new Map<string, CachedFile>();

  function answer(req: NodeRequest, res: NodeResponse, status: number, headers: Record<string, string>, body?: Buffer): void {
    const record = requestLogOf(req);
    if (record) {
      record.protocol = "ui";
      record.code = status < 400 ? "ok" : status === 404 ? "not_found" : status === 405 ? "unimplemented" : status === 503 ? "unavailable" : "invalid_argument";
    }
    const all: Record<string, string> = { ...SECURITY_HEADERS, ...headers };
    if (body) all["content-length"] = String(body.length);
    res.writeHead(status, all);
    if (body && req.method !== "HEAD") res.end(body);
    else res.end();
  }

  const text = (req: NodeRequest, res: NodeResponse, status: number, message: string, extra: Record<string, string> = {}) =>
    answer(req, res, status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra }, Buffer.from(`${message}\n`));

  async function load(file: string): Promise<CachedFile | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const key = `${info.size}-${Math.trunc(info.mtimeMs).toString(16)}`;
    const cached = cache.get(file);
    if (cached?.key === key) return cached;
    const entry: CachedFile = { key, body: await readFile(file) };
    cache.set(file, entry);
    return entry;
  }

  async function sendFile(req: NodeRequest, res: NodeResponse, file: string, cacheControl: string): Promise<boolean> {
    const entry = await load(file);
    if (!entry) return false;
    const ext = path.extname(file);
    const etag = `"${entry.key}"`;
    const headers: Record<string, string> = {
      "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
      "cache-control": cacheControl,
      etag,
      vary: "accept-encoding",
    };
    if (req.headers["if-none-match"] === etag) {
      answer(req, res, 304, headers);
      return true;
    }
    const acceptsGzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    if (acceptsGzip && COMPRESSIBLE.has(ext) && entry.body.length > 1024) {
      entry.gzipped ??= gzipSync(entry.body);
      answer(req, res, 200, { ...headers, "content-encoding": "gzip" }, entry.gzipped);
    } else {
      answer(req, res, 200, headers, entry.body);
    }
    return true;
  }

  async function serve(req: NodeRequest, res: NodeResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") return text(req, res, 405, "Method Not Allowed", { allow: "GET, HEAD" });
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname === UI_PREFIX) {
      return answer(req, res, 308, { location: `${UI_PREFIX}/${q < 0 ? "" : url.slice(q)}`, "cache-control": REVALIDATE });
    }
    const root = currentRoot();
    if (!root) return opts.root === undefined ? text(req, res, 404, "Not Found") : text(req, res, 503, "The console has not been built: run `npm run build:ui`.");

    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice(UI_PREFIX.length + 1));
    } catch {
      return text(req, res, 400, "Bad Request");
    }
    const segments = rel.split("/");
    // No way out of the root and nothing hidden: no "..", ".", dot-files, backslashes or NULs.
    if (rel.includes("\\") || rel.includes("\0") || segments.some((s) => s.startsWith("."))) return text(req, res, 404, "Not Found");

    const last = segments[segments.length - 1];
    const isAppRoute = !last.includes(".") && segments[0] !== HASHED_ASSETS_DIR;
    if (isAppRoute) {
      if (await sendFile(req, res, path.join(root, "index.html"), REVALIDATE)) return;
      return text(req, res, 503, "The console has not been built: run `npm run build:ui`.");
    }
    if (!(path.extname(last) in CONTENT_TYPES)) return text(req, res, 404, "Not Found");
    const file = path.join(root, ...segments);
    const real = await realpath(file).catch(() => undefined);
    if (!real || !real.startsWith(root + path.sep)) return text(req, res, 404, "Not Found");
    const cacheControl = segments.length > 1 && segments[0] === HASHED_ASSETS_DIR ? IMMUTABLE : REVALIDATE;
    if (!(await sendFile(req, res, real, cacheControl))) text(req, res, 404, "Not Found");
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      opts.logger.error({ err }, "serving a page failed");
      if (!res.headersSent) text(req, res, 500, "Internal Server Error");
      else res.destroy();
    });
  };
}
