/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2 (stack-notes.md "One port for HTTP/1.1 and h2c"):
 * the first bytes of a connection decide whether it goes to an http.Server or an http2.Server.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { answerClientError } from "./client-error.js";
import type { NodeRequest, NodeResponse } from "./interceptors/logging.js";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface ListenerLimits {
  /**
   * Open connections at most; further ones are closed as soon as they are accepted. Each costs
   * socket and parser buffers (an HTTP/2 session up to `h2MaxConcurrentStreams` requests).
   */
  maxConnections: number;
  /** A connection that sends nothing for this long is closed. */
  firstByteTimeoutMs: number;
  /** HTTP/1.1: time to receive the complete request headers. */
  headersTimeoutMs: number;
  /** HTTP/1.1: time to receive the complete request. */
  requestTimeoutMs: number;
  /** HTTP/1.1: idle time of a kept-alive connection between requests. */
  keepAliveTimeoutMs: number;
  /** HTTP/1.1: requests served on one connection before it is closed. */
  maxRequestsPerSocket: number;
  /** How often HTTP/1.1 header and request timeouts are checked. */
  timeoutCheckIntervalMs: number;
  /** HTTP/2: a session without any traffic for this long is closed. */
  h2IdleTimeoutMs: number;
  h2MaxConcurrentStreams: number;
  /** HTTP/2: largest header block a client may send (SETTINGS_MAX_HEADER_LIST_SIZE); as HTTP/1.1's limit. */
  h2MaxHeaderListBytes: number;
  /** Graceful close: how long in-flight requests may take before their connections are destroyed. */
  closeGraceMs: number;
  /**
   * Graceful close: how long connections that are idle keep being served before they are closed
   * — a request already on its way over a kept-alive connection is answered (with
   * `connection: close`), and HTTP/2 clients get a GOAWAY notice before the final GOAWAY.
   */
  drainNoticeMs: number;
}

export const defaultListenerLimits: ListenerLimits = {
  maxConnections: 1024,
  firstByteTimeoutMs: 10_000,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  maxRequestsPerSocket: 10_000,
  timeoutCheckIntervalMs: 1_000,
  h2IdleTimeoutMs: 120_000,
  h2MaxConcurrentStreams: 100,
  h2MaxHeaderListBytes: 16 * 1024,
  closeGraceMs: 25_000,
  drainNoticeMs: 500,
};

/** GOAWAY with the highest stream id: "stop opening streams", while the ones on the way are served. */
const GOAWAY_NOTICE_LAST_STREAM_ID = 2 ** 31 - 1;

export type RequestHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface Listener {
  port: number;
  close(): Promise<void>;
}

/** True when `data` cannot be the start of the preface; false while it still could be. */
function diverges(data: Buffer): boolean {
  const n = Math.min(data.length, H2_PREFACE.length);
  return data.subarray(0, n).compare(H2_PREFACE, 0, n) !== 0;
}

/**
 * Hands a connection whose first bytes have already been read to an HTTP/1.1 server.
 *
 * http.Server parses straight from the socket's native handle ("consumes" it), so later reads
 * bypass the stream. Bytes put back with unshift() are parsed only when the stream flows, and a
 * read that reached the parser first would overtake them (a 400, or a request that never
 * completes until the headers timeout). So the peeked bytes are delivered now: read() emits
 * them as 'data' synchronously, before the event loop can deliver anything later.
 */
export function handOffToHttp1(server: http.Server, socket: net.Socket, peeked: Buffer): void {
  socket.pause();
  socket.unshift(peeked);
  server.emit("connection", socket);
  if (!socket.destroyed) socket.read();
  // http.Server expects a flowing socket (its "resume" handler restarts native reads).
  socket.resume();
}

/**
 * Node 20 does not clear a session's idle timer when the session is destroyed (its own
 * `setTimeout(0)` on destroy is skipped once the session counts as destroyed), so every closed
 * session — with its socket, streams and nghttp2 buffers — stays reachable until the timer fires,
 * `h2IdleTimeoutMs` later. Under a flood of short connections that is hundreds of megabytes.
 * The timer is stored under a symbol described "timeout"; if a later Node has none, nothing to do.
 */
function releaseIdleTimer(session: http2.Http2Session): void {
  const key = Object.getOwnPropertySymbols(session).find((sym) => sym.description === "timeout");
  const timer = key === undefined ? undefined : (session as unknown as Record<symbol, unknown>)[key];
  if (timer && typeof timer === "object") clearTimeout(timer as NodeJS.Timeout);
}

export async function listen(
  host: string,
  port: number,
  handler: RequestHandler,
  limits: ListenerLimits = defaultListenerLimits,
): Promise<Listener> {
  let closing = false;
  /** HTTP/1.1 responses not finished yet: when the drain begins they are told to close their connection. */
  const h1Responses = new Set<http.ServerResponse>();
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
    (req, res) => {
      // During the drain every answer says `connection: close`, so the client opens no new request here.
      if (closing) res.shouldKeepAlive = false;
      h1Responses.add(res);
      res.once("close", () => h1Responses.delete(res));
      handler(req, res);
    },
  );
  h1.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  // A client may send its requests and then half-close (shutdown its write side). The TCP server
  // keeps our side open (allowHalfOpen below); this tells http.Server to answer what it has
  // received and end the connection after the last response, as it does for a synchronous
  // handler (without it, a response that needs a database round trip is never sent).
  (h1 as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // Requests that Node's parser refuses (400, 413, 431, 408) get an error body like every other.
  h1.on("clientError", answerClientError);
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: limits.h2MaxConcurrentStreams, maxHeaderListSize: limits.h2MaxHeaderListBytes } },
    handler,
  );
  // Without a timeout an idle HTTP/2 session lives forever; on timeout the session is destroyed.
  h2.setTimeout(limits.h2IdleTimeoutMs);

  const sockets = new Set<net.Socket>();
  /** Connections whose protocol is not known yet: nothing in flight, closed at once on close(). */
  const undecided = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  /** Per session, its streams that are not closed yet. */
  const streamsOf = new WeakMap<http2.Http2Session, Set<http2.Http2Stream>>();
  /** Sessions told to stop opening streams, and when. */
  const noticed = new Map<http2.Http2Session, number>();
  const notice = (session: http2.Http2Session): void => {
    if (noticed.has(session) || session.closed || session.destroyed) return;
    noticed.set(session, Date.now());
    try {
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, GOAWAY_NOTICE_LAST_STREAM_ID);
    } catch {
      // the session is going away already
    }
  };
  h2.on("session", (session: http2.Http2Session) => {
    sessions.add(session);
    const streams = new Set<http2.Http2Stream>();
    streamsOf.set(session, streams);
    session.on("stream", (stream: http2.Http2Stream) => {
      streams.add(stream);
      stream.once("close", () => streams.delete(stream));
    });
    session.once("close", () => {
      sessions.delete(session);
      noticed.delete(session);
      releaseIdleTimer(session);
    });
    if (closing) notice(session);
  });
  /**
   * The client half-closed an HTTP/2 connection: streams whose request is complete get their
   * answers, streams still waiting for request data can never complete and are cancelled, then
   * the session closes (GOAWAY, and the socket once the last stream is done).
   */
  const onClientEnd = (session: http2.Http2Session | undefined, socket: net.Socket) => {
    if (!session || session.closed || session.destroyed) {
      socket.destroy();
      return;
    }
    for (const stream of streamsOf.get(session) ?? []) {
      if (!stream.destroyed && !stream.state?.remoteClose) stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    session.close();
  };

  // allowHalfOpen: a client's half-close must not end our side before its requests are answered.
  const tcp = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    undecided.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      undecided.delete(socket);
    });
    socket.on("error", () => socket.destroy());
    const onSilent = () => socket.destroy();
    socket.setTimeout(limits.firstByteTimeoutMs, onSilent);
    // Ended before its protocol was known: nothing to answer.
    const onEndUndecided = () => socket.destroy();
    socket.once("end", onEndUndecided);

    let received: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const isH1 = diverges(received);
      if (!isH1 && received.length < H2_PREFACE.length) return;
      socket.off("data", onData);
      socket.off("end", onEndUndecided);
      undecided.delete(socket);
      socket.setTimeout(0);
      socket.off("timeout", onSilent);
      if (isH1) {
        handOffToHttp1(h1, socket, received);
      } else {
        // http2 feeds what is buffered in the stream to its session itself, before any later read.
        socket.pause();
        socket.unshift(received);
        let session: http2.Http2Session | undefined;
        const onSession = (s: http2.Http2Session) => (session = s);
        h2.once("session", onSession);
        h2.emit("connection", socket);
        h2.off("session", onSession);
        socket.once("end", () => onClientEnd(session, socket));
      }
    };
    socket.on("data", onData);
  });

  tcp.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  // h1 never listens itself; "listening" starts its header/request timeout checks.
  h1.emit("listening");

  const address = tcp.address() as net.AddressInfo;

  /**
   * The drain: new connections are refused at once (the port is closed); requests in flight
   * finish; kept-alive HTTP/1.1 connections get `connection: close` on their next answer and are
   * closed once idle; HTTP/2 sessions get a GOAWAY notice, then (after `drainNoticeMs`) the final
   * GOAWAY, and their open streams complete. Whatever is left after `closeGraceMs` is cut.
   */
  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    return (closed ??= drain());
  }

  async function drain(): Promise<void> {
    closing = true;
    const started = Date.now();
    const deadline = started + limits.closeGraceMs;
    const stopped = new Promise<void>((resolve) => tcp.close(() => resolve()));
    for (const res of h1Responses) if (!res.headersSent) res.shouldKeepAlive = false;
    for (const session of sessions) notice(session);
    while (sockets.size > 0 && Date.now() < deadline) {
      const now = Date.now();
      if (now - started >= limits.drainNoticeMs) {
        h1.closeIdleConnections();
        // accepted before the port closed but silent since: nothing is in flight on them
        for (const socket of undecided) socket.destroy();
      }
      for (const [session, at] of noticed) if (now - at >= limits.drainNoticeMs && !session.closed) session.close();
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const socket of sockets) socket.destroy();
    h1.close();
    h2.close();
    await stopped;
  }

  return { port: address.port, close };
}
