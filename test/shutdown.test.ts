/**
 * Graceful shutdown of a real child process (issue items 10 and 2): under load, SIGTERM lets every
 * request in flight finish — over HTTP/1.1 keep-alive and HTTP/2 alike — within a configurable
 * grace, refuses new connections, and does not wait for bcrypt work it cannot interrupt.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { newHuman, rest } from "./support/fixtures.js";
import { startLoad } from "./support/load.js";
import { baseEnv, killLeftovers, startRosterProcess, waitFor, type RosterProcess } from "./support/process.js";

type Outcome = { kind: "ok" } | { kind: "refused" } | { kind: "bad"; what: string };

const dirs: string[] = [];
const databases: TestDatabase[] = [];

after(async () => {
  await killLeftovers();
  for (const db of databases) await db.drop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function start(extra: Record<string, string> = {}): Promise<{ roster: RosterProcess; token: string; userId: string }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "roster-shutdown-"));
  dirs.push(dataDir);
  const database = await createTestDatabase();
  databases.push(database);
  const roster = await startRosterProcess({ ...baseEnv(dataDir), DATABASE_URL: database.url, ...extra });
  const token = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
  const created = await rest(roster, "POST", "/v2/users/human", { token, body: newHuman({}, "drain") });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  return { roster, token, userId: created.body.userId as string };
}

/** Connect JSON body of GetUserByID, sent in two parts so that the request stays in flight a while. */
const bodyParts = (userId: string): [string, string] => {
  const body = JSON.stringify({ userId });
  return [body.slice(0, 5), body.slice(5)];
};
const SLOW_BODY_MS = 150;

/** A new connection after the listener closed: refused before any byte of the request was sent. */
function refusedConnection(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return e.code === "ECONNREFUSED" || e.cause?.code === "ECONNREFUSED";
}

function classifyError(err: unknown): Outcome {
  if (refusedConnection(err)) return { kind: "refused" };
  const e = err as NodeJS.ErrnoException;
  return { kind: "bad", what: `${e.code ?? ""} ${e.message}` };
}

/** HTTP/1.1 keep-alive client: GetUserByID over Connect JSON with a body that arrives late. */
function h1Requester(port: number, token: string, userId: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return (): Promise<Outcome> =>
    new Promise((resolve) => {
      const [head, tail] = bodyParts(userId);
      const req = http.request({
        agent,
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/zitadel.user.v2.UserService/GetUserByID",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": head.length + tail.length },
      });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve(res.statusCode === 200 ? { kind: "ok" } : { kind: "bad", what: `${res.statusCode} ${text}` }));
        res.on("error", (err) => resolve(classifyError(err)));
      });
      req.on("error", (err) => resolve(classifyError(err)));
      req.write(head);
      setTimeout(() => req.end(tail), SLOW_BODY_MS);
    });
}

/** HTTP/2 client: several streams on one session; after GOAWAY it opens a new session. */
function h2Requester(port: number, token: string, userId: string) {
  let session: http2.ClientHttp2Session | undefined;
  const open = (): http2.ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    session.on("goaway", () => session?.close());
    return session;
  };
  return (): Promise<Outcome> =>
    new Promise((resolve) => {
      const [head, tail] = bodyParts(userId);
      let stream: http2.ClientHttp2Stream;
      try {
        stream = open().request({
          ":method": "POST",
          ":path": "/zitadel.user.v2.UserService/GetUserByID",
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
        });
      } catch (err) {
        // the session had received GOAWAY: nothing was sent on it
        session = undefined;
        resolve({ kind: "refused" });
        return;
      }
      let status = 0;
      let text = "";
      stream.setEncoding("utf8");
      stream.on("response", (h) => (status = Number(h[":status"])));
      stream.on("data", (c: string) => (text += c));
      stream.on("end", () => resolve(status === 200 ? { kind: "ok" } : { kind: "bad", what: `${status} ${text}` }));
      stream.on("error", (err: NodeJS.ErrnoException) => {
        // a stream waiting for a new session whose connection was refused is cancelled
        if (refusedConnection(err)) resolve({ kind: "refused" });
        // REFUSED_STREAM: the server did not process the stream at all (RFC 9113 §8.7), the same
        // outcome as a stream the final GOAWAY refuses; the client may retry it elsewhere
        else if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) resolve({ kind: "refused" });
        else resolve({ kind: "bad", what: `${err.code ?? ""} ${err.message} (rst ${stream.rstCode})` });
      });
      stream.write(head);
      setTimeout(() => stream.end(tail), SLOW_BODY_MS);
    });
}

describe("SIGTERM under load", () => {
  test("every request in flight over HTTP/1.1 keep-alive and HTTP/2 completes; later ones are refused; exit 0", async () => {
    const { roster, token, userId } = await start();
    const h1 = h1Requester(roster.port, token, userId);
    const h2 = h2Requester(roster.port, token, userId);
    const load = startLoad(12, (worker) => (worker % 2 === 0 ? h1() : h2()));
    await waitFor(() => load.outcomes.filter((o) => o.result.kind === "ok").length >= 48, "requests to succeed before SIGTERM", 30_000);
    const answeredBeforeSignal = load.outcomes.length;
    load.mark();
    const code = await roster.stop("SIGTERM");
    const outcomes = await load.stop();
    // requests sent before the signal and answered after it, over each protocol
    const finishedInDrain = outcomes.slice(answeredBeforeSignal).filter((o) => o.afterMark === 0 && o.result.kind === "ok");
    const bad = outcomes.filter((o) => o.result.kind === "bad").map((o) => (o.result as { what: string }).what);
    assert.deepEqual(bad, [], `${bad.length} of ${outcomes.length} requests were cut or failed`);
    // what each protocol's requests that were sent before the signal became, for a failure's message
    const inFlight = outcomes.slice(answeredBeforeSignal).filter((o) => o.afterMark === 0);
    const summary = JSON.stringify(
      ["HTTP/1.1", "HTTP/2"].map((name, parity) => ({
        [name]: inFlight.filter((o) => o.worker % 2 === parity).map((o) => o.result.kind),
      })),
    );
    assert.ok(finishedInDrain.some((o) => o.worker % 2 === 0), `HTTP/1.1 requests in flight at SIGTERM completed: ${summary}`);
    assert.ok(finishedInDrain.some((o) => o.worker % 2 === 1), `HTTP/2 requests in flight at SIGTERM completed: ${summary}`);
    assert.ok(outcomes.some((o) => o.result.kind === "refused"), "requests after the drain began were refused");
    assert.equal(code, 0, roster.output().slice(-2000));
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(roster.port, "127.0.0.1").once("connect", resolve).once("error", reject)),
      /ECONNREFUSED/,
    );
  });

  test("a request longer than 10 s completes within ROSTER_SHUTDOWN_GRACE_SECONDS", async () => {
    const { roster, token, userId } = await start({ ROSTER_SHUTDOWN_GRACE_SECONDS: "30" });
    const [head, tail] = bodyParts(userId);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: roster.port,
        method: "POST",
        path: "/zitadel.user.v2.UserService/GetUserByID",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": head.length + tail.length },
      });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.write(head);
      // the signal arrives while the request is in flight; its body follows after 11 s
      setTimeout(() => void roster.stop("SIGTERM"), 300);
      setTimeout(() => req.end(tail), 11_300);
    });
    const res = await answer;
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).user.userId, userId);
    assert.equal(await roster.exited, 0);
  });
});

describe("SIGTERM while bcrypt runs", () => {
  test("queued password work answers UNAVAILABLE and the process exits although a cost-20 comparison is running", async () => {
    const { roster, token } = await start({ ROSTER_BCRYPT_MAX_IMPORT_COST: "20", ROSTER_SHUTDOWN_GRACE_SECONDS: "1" });
    // a well-formed cost-20 bcrypt hash: comparing any password with it takes over a minute
    const slowHash = `$2b$20$${"abcdefghijklmnopqrstuv"}${"wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"}`;
    const created = await rest(roster, "POST", "/v2/users/human", {
      token,
      body: newHuman({ hashedPassword: { hash: slowHash } }, "slowhash"),
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const setPassword = () =>
      rest(roster, "POST", `/v2/users/${created.body.userId}/password`, {
        token,
        body: { newPassword: { password: "Replaced-Passw0rd!" }, currentPassword: "guess-Passw0rd!" },
      }).catch((err: Error) => ({ status: 0, body: String(err) }));
    // two fill both hashing slots, the third waits for one
    const running = [setPassword(), setPassword()];
    await new Promise((r) => setTimeout(r, 500));
    const queued = setPassword();
    await new Promise((r) => setTimeout(r, 300));
    void roster.stop("SIGTERM");
    const queuedAnswer = await queued;
    assert.equal(queuedAnswer.status, 503, JSON.stringify(queuedAnswer.body));
    assert.equal((queuedAnswer.body as { details: { id: string }[] }).details[0].id, "ROSTER-shut1");
    let gone = false;
    void roster.exited.then(() => (gone = true));
    await waitFor(() => gone, "the process to exit while bcrypt is running", 20_000);
    // it ends as a process without a SIGTERM handler would: a normal exit would wait for bcrypt
    assert.equal(await roster.exited, "SIGTERM");
    // its last line may still be in the pipe when the exit is reported
    await waitFor(() => roster.logs.some((l) => l.msg === "exiting while password hashing is still running"), "the last log line", 10_000).catch((e) => {
      throw new Error(`${e}\n${roster.output().slice(-1500)}`);
    });
    await Promise.all(running);
  });
});
