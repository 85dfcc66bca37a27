/**
 * Memory bounds of the listener (issue item 13), asserted structurally rather than as RSS
 * figures (bench/memory.ts measures those): closed HTTP/2 sessions are released at once, and the
 * HTTP/2 settings that bound a session's memory are the ones we set.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { defaultListenerLimits, listen, type Listener } from "../src/server/listener.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const serverSessions: WeakRef<object>[] = [];
let listener: Listener;

before(async () => {
  listener = await listen("127.0.0.1", 0, (req, res) => {
    const session = (req as http2.Http2ServerRequest).stream?.session;
    if (session) serverSessions.push(new WeakRef(session));
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
});
after(async () => {
  await listener?.close();
});

function request(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": "/" });
    let status = 0;
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", () => {});
    stream.on("end", () => resolve(status));
    stream.on("error", reject);
    stream.end();
  });
}

test("closed HTTP/2 sessions are released at once, not kept until their idle timeout fires", async () => {
  assert.ok(defaultListenerLimits.h2IdleTimeoutMs >= 60_000, "a long idle timeout, as in production");
  for (let i = 0; i < 20; i++) {
    const client = http2.connect(`http://127.0.0.1:${listener.port}`);
    assert.equal(await request(client), 200);
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
  assert.equal(serverSessions.length, 20);
  // let the server notice each closed socket, then collect
  let alive = serverSessions.length;
  for (let round = 0; round < 50 && alive > 0; round++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
    alive = serverSessions.filter((s) => s.deref() !== undefined).length;
  }
  assert.equal(alive, 0, `${alive} of 20 closed server sessions are still reachable`);
});

test("HTTP/2 settings bound what one session may hold: concurrent streams and header list size", async () => {
  const client = http2.connect(`http://127.0.0.1:${listener.port}`);
  try {
    const settings = await new Promise<http2.Settings>((resolve) => client.once("remoteSettings", resolve));
    assert.equal(settings.maxConcurrentStreams, defaultListenerLimits.h2MaxConcurrentStreams);
    assert.equal(settings.maxHeaderListSize, defaultListenerLimits.h2MaxHeaderListBytes);
    assert.ok(defaultListenerLimits.h2MaxHeaderListBytes <= 64 * 1024);
  } finally {
    client.close();
  }
});

test("connections beyond maxConnections are closed when accepted; the ones within keep being served", async () => {
  const small = await listen("127.0.0.1", 0, (_req, res) => res.end("ok"), { ...defaultListenerLimits, maxConnections: 2 });
  const open = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(small.port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
  const ended = (s: net.Socket) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once("close", () => resolve())));
  try {
    const first = await open();
    const second = await open();
    const third = await open();
    third.on("error", () => {});
    await ended(third); // closed by the server without a byte
    assert.equal(third.bytesRead, 0);
    // the two within the limit still work
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      first.on("data", (c: Buffer) => (text += c.toString()));
      first.on("end", () => resolve(text));
      first.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    second.destroy();
  } finally {
    await small.close();
  }
});
