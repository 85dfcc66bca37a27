/**
 * GET/HEAD /ui/*: the pages' files from ROSTER_UI_DIR, through a real Roster over real sockets —
 * content types, index.html for app routes, caching, compression, the security headers on every
 * answer, and no way out of the folder.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { startTestRoster, type TestRoster } from "./support/roster.js";

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request with the path exactly as given (fetch would normalise `..` away). */
function raw(port: number, method: string, rawPath: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const INDEX = "<!doctype html><title>test index</title><script type=module src=/ui/assets/app-3f9a1c.js></script>";
const SCRIPT = `export const big = ${JSON.stringify("x".repeat(4000))};\n`;

let dir: string;
let uiDir: string;
let roster: TestRoster;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "roster-ui-"));
  uiDir = path.join(dir, "ui");
  await mkdir(path.join(uiDir, "assets"), { recursive: true });
  await writeFile(path.join(uiDir, "index.html"), INDEX);
  await writeFile(path.join(uiDir, "assets", "app-3f9a1c.js"), SCRIPT);
  await writeFile(path.join(uiDir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  await writeFile(path.join(uiDir, ".env"), "SECRET=1");
  await writeFile(path.join(uiDir, "tool.exe"), "MZ");
  await writeFile(path.join(dir, "secret.txt"), "outside the folder");
  await symlink(path.join(dir, "secret.txt"), path.join(uiDir, "escape.txt"));
  roster = await startTestRoster({ ROSTER_UI_DIR: uiDir });
});

after(async () => {
  await roster?.close();
  await rm(dir, { recursive: true, force: true });
});

function assertSecurityHeaders(r: Raw): void {
  const csp = String(r.headers["content-security-policy"]);
  assert.match(csp, /(^|; )default-src 'self'(;|$)/);
  assert.match(csp, /(^|; )script-src 'self'(;|$)/);
  assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
  assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
  assert.match(csp, /(^|; )object-src 'none'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers["x-content-type-options"], "nosniff");
  assert.equal(r.headers["referrer-policy"], "no-referrer");
  assert.equal(r.headers["x-frame-options"], "DENY");
}

describe("/ui/ pages", () => {
  test("/ui redirects to /ui/, keeping the query", async () => {
    const r = await raw(roster.port, "GET", "/ui?userID=1");
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, "/ui/?userID=1");
  });

  for (const route of ["/ui/", "/ui/users/226912345678901234", "/ui/verify-email?userID=1&code=ABC123&orgID=2", "/ui/password-reset?userID=1&code=X", "/ui/sign-in"]) {
    test(`app route ${route} → index.html, revalidated, with the security headers`, async () => {
      const r = await raw(roster.port, "GET", route);
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.headers["cache-control"], "no-cache");
      assert.equal(r.body.toString(), INDEX);
      assertSecurityHeaders(r);
    });
  }

  test("a hashed asset: its content type, cached for good, gzip when accepted, 304 on its ETag", async () => {
    const plain = await raw(roster.port, "GET", "/ui/assets/app-3f9a1c.js");
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(plain.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.body.toString(), SCRIPT);
    assertSecurityHeaders(plain);

    const gz = await raw(roster.port, "GET", "/ui/assets/app-3f9a1c.js", { "accept-encoding": "gzip, br" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.ok(gz.body.length < SCRIPT.length / 4);
    assert.equal(gunzipSync(gz.body).toString(), SCRIPT);

    const again = await raw(roster.port, "GET", "/ui/assets/app-3f9a1c.js", { "if-none-match": String(plain.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test("a file outside assets/ is revalidated", async () => {
    const r = await raw(roster.port, "GET", "/ui/favicon.svg");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "image/svg+xml");
    assert.equal(r.headers["cache-control"], "no-cache");
  });

  test("HEAD: the headers of GET, no body", async () => {
    const r = await raw(roster.port, "HEAD", "/ui/assets/app-3f9a1c.js");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(Buffer.byteLength(SCRIPT)));
    assert.equal(r.body.length, 0);
  });

  test("other methods → 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await raw(roster.port, method, "/ui/");
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, "GET, HEAD");
      assertSecurityHeaders(r);
    }
  });

  const notFound = [
    "/ui/../secret.txt",
    "/ui/assets/../../secret.txt",
    "/ui/%2e%2e/secret.txt",
    "/ui/assets/..%2f..%2fsecret.txt",
    "/ui/..%5csecret.txt",
    "/ui/escape.txt",
    "/ui/.env",
    "/ui/tool.exe",
    "/ui/assets/missing-1234.js",
    "/ui/assets/no-extension",
    "/ui/index.html%00.js",
  ];
  for (const p of notFound) {
    test(`${p} → 404 (nothing outside the folder, nothing hidden or unknown)`, async () => {
      const r = await raw(roster.port, "GET", p);
      assert.equal(r.status, 404);
      assert.doesNotMatch(r.body.toString(), /outside the folder|SECRET|MZ/);
      assertSecurityHeaders(r);
    });
  }

  test("the same over cleartext HTTP/2 (h2c)", async () => {
    const session = http2.connect(roster.baseUrl);
    try {
      const r = await new Promise<Raw>((resolve, reject) => {
        const stream = session.request({ ":method": "GET", ":path": "/ui/users/1", "accept-encoding": "gzip" });
        const chunks: Buffer[] = [];
        let headers: http.IncomingHttpHeaders = {};
        stream.on("response", (h) => (headers = h as http.IncomingHttpHeaders));
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks) }));
        stream.on("error", reject);
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.body.toString(), INDEX);
      assertSecurityHeaders(r);
    } finally {
      session.close();
    }
  });

  test("a bad percent-encoding → 400", async () => {
    const r = await raw(roster.port, "GET", "/ui/%ZZ.js");
    assert.equal(r.status, 400);
  });

  test("paths that only start like /ui stay with the API (REST 404 in JSON)", async () => {
    const r = await raw(roster.port, "GET", "/uix/");
    assert.equal(r.status, 404);
    assert.match(String(r.headers["content-type"]), /application\/json/);
    assert.equal(r.headers["content-security-policy"], undefined);
  });
});

describe("/ui/ before the pages are built", () => {
  test("503 saying how to build them, and served as soon as the folder exists", async () => {
    const later = path.join(dir, "later");
    const unbuilt = await startTestRoster({ ROSTER_UI_DIR: later });
    try {
      const r = await raw(unbuilt.port, "GET", "/ui/");
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /npm run build:ui/);
      assertSecurityHeaders(r);
      await mkdir(later);
      await writeFile(path.join(later, "index.html"), INDEX);
      const built = await raw(unbuilt.port, "GET", "/ui/users/1");
      assert.equal(built.status, 200);
      assert.equal(built.body.toString(), INDEX);
    } finally {
      await unbuilt.close();
    }
  });
});
