// The benchmark's load generator: a process of its own (plain JavaScript, no TypeScript loader),
// so that its work never shares a thread with the server it measures. It keeps `connections`
// connections open, each with one request in flight at a time, for `seconds`, and checks every
// response (HTTP 200, and `grpc-status: 0` where the protocol has one).
//
// Input: one JSON argument { protocol, rpc, port, token, users, connections, seconds, warmupSeconds }.
//   protocol: "grpc" | "connect" | "grpcweb" (HTTP/2 cleartext) | "rest" (HTTP/1.1)
//   rpc: "update" (UpdateHumanUser, a new nick name every time) | "get" (GetUserByID)
//        | "password" (SetPassword, gRPC only: a new password every time)
// Output: a line { measuring: true } when the counted part starts, then { requests, errors, firstError, seconds, p50, p99 } (milliseconds).
import http from "node:http";
import http2 from "node:http2";
import { performance } from "node:perf_hooks";

const spec = JSON.parse(process.argv[2]);
const { protocol, rpc, port, token, users, connections, seconds, warmupSeconds = 0 } = spec;
const SERVICE = "/zitadel.user.v2.UserService/";

// ---- request bodies, encoded by hand (a few bytes of protobuf or JSON each) ----

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
function field(no, bytes) {
  return Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
}
const str = (no, s) => field(no, Buffer.from(s, "utf8"));

/** The request message of one call: every update sets a nick name the user does not have yet. */
function message(userId, i) {
  if (rpc === "get") return str(1, userId);
  // SetPassword by an administrator: a bcrypt hash at ROSTER_BCRYPT_COST per call
  if (rpc === "password") return Buffer.concat([str(1, userId), field(2, str(1, `Bench-Password-${i}!`))]);
  const profile = Buffer.concat([str(1, "Bench"), str(2, "User"), str(3, `n${i}`)]);
  return Buffer.concat([str(1, userId), field(3, profile)]);
}
function json(userId, i) {
  if (rpc === "get") return JSON.stringify({ userId });
  return JSON.stringify({ userId, profile: { givenName: "Bench", familyName: "User", nickName: `n${i}` } });
}
function framed(payload) {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const method = rpc === "update" ? "UpdateHumanUser" : rpc === "password" ? "SetPassword" : "GetUserByID";
const auth = `Bearer ${token}`;

// ---- one call per protocol ----

function h2Call(session, userId, i) {
  let headers;
  let body;
  if (protocol === "grpc") {
    headers = { ":method": "POST", ":path": SERVICE + method, "content-type": "application/grpc", te: "trailers", authorization: auth };
    body = framed(message(userId, i));
  } else if (protocol === "grpcweb") {
    headers = { ":method": "POST", ":path": SERVICE + method, "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: auth };
    body = framed(message(userId, i));
  } else {
    headers = { ":method": "POST", ":path": SERVICE + method, "content-type": "application/json", "connect-protocol-version": "1", authorization: auth };
    body = Buffer.from(json(userId, i));
  }
  return new Promise((resolve) => {
    const req = session.request(headers);
    let status = 0;
    let grpcStatus = null;
    const chunks = [];
    req.on("response", (h) => {
      status = h[":status"];
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) grpcStatus = String(t["grpc-status"]);
    });
    req.on("data", (c) => chunks.push(c));
    req.on("error", (e) => resolve(`stream error: ${e.message}`));
    req.on("end", () => {
      if (status !== 200) return resolve(`HTTP ${status}: ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`);
      if (protocol === "grpc") return resolve(grpcStatus === "0" ? null : `grpc-status ${grpcStatus}`);
      if (protocol === "grpcweb") {
        if (grpcStatus !== null) return resolve(grpcStatus === "0" ? null : `grpc-status ${grpcStatus}`);
        const all = Buffer.concat(chunks);
        // the trailer frame (flag 0x80) follows the message frame
        let at = 0;
        while (at + 5 <= all.length) {
          const len = all.readUInt32BE(at + 1);
          if (all[at] & 0x80) {
            const m = /grpc-status:\s*(\d+)/i.exec(all.subarray(at + 5, at + 5 + len).toString("latin1"));
            return resolve(m && m[1] === "0" ? null : `grpc-web trailer ${m ? m[1] : "missing"}`);
          }
          at += 5 + len;
        }
        return resolve("grpc-web: no trailer frame");
      }
      resolve(null);
    });
    req.end(body);
  });
}

function restCall(agent, userId, i) {
  const isUpdate = rpc === "update";
  const body = isUpdate ? JSON.stringify({ profile: { givenName: "Bench", familyName: "User", nickName: `n${i}` } }) : undefined;
  const headers = { authorization: auth };
  if (body) {
    headers["content-type"] = "application/json";
    headers["content-length"] = Buffer.byteLength(body);
  }
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, agent, method: isUpdate ? "PUT" : "GET", path: isUpdate ? `/v2/users/human/${userId}` : `/v2/users/${userId}`, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve(res.statusCode === 200 ? null : `HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`));
      },
    );
    req.on("error", (e) => resolve(`request error: ${e.message}`));
    req.end(body);
  });
}

// ---- the run ----

async function main() {
  const lanes = [];
  for (let c = 0; c < connections; c++) {
    if (protocol === "rest") {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      lanes.push({ call: (u, i) => restCall(agent, u, i), close: () => agent.destroy() });
    } else {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {});
      lanes.push({ call: (u, i) => h2Call(session, u, i), close: () => session.close() });
    }
  }
  const latencies = new Float64Array(4_000_000);
  let n = 0;
  let errors = 0;
  let firstError = null;
  let counter = Date.now() % 1_000_000_000; // nick names differ from those of earlier runs
  const warmEnd = performance.now() + warmupSeconds * 1000;
  const end = warmEnd + seconds * 1000;
  let started = 0;
  await Promise.all(
    lanes.map(async (lane, c) => {
      const userId = users[c % users.length];
      // warm-up: connections, caches, JIT; not counted
      while (performance.now() < warmEnd) await lane.call(userId, counter++);
      if (!started) {
        started = performance.now();
        process.stdout.write(JSON.stringify({ measuring: true }) + "\n");
      }
      while (performance.now() < end) {
        const t0 = performance.now();
        const err = await lane.call(userId, counter++);
        if (err) {
          errors++;
          firstError ??= err;
        } else if (n < latencies.length) latencies[n++] = performance.now() - t0;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const lane of lanes) lane.close();
  const sorted = latencies.subarray(0, n).sort();
  const pct = (p) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor((p / 100) * n))]);
  process.stdout.write(JSON.stringify({ requests: n, errors, firstError, seconds: elapsed, p50: pct(50), p99: pct(99) }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
