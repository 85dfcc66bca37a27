/**
 * Requests that Node's HTTP/1.1 parser refuses never reach a handler, so their protocol is
 * unknown: they are answered with the REST error body (errors.md §4), the HTTP status Node
 * would send, and the message of that status. The connection is closed afterwards, as Node does.
 */
import type { Duplex } from "node:stream";
import { Code } from "@connectrpc/connect";

interface ParserRefusal {
  status: number;
  reason: string;
  code: Code;
}

const BAD_REQUEST: ParserRefusal = { status: 400, reason: "Bad Request", code: Code.InvalidArgument };

/** Node's parser error codes with a status other than 400. */
const refusals: Record<string, ParserRefusal> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: "Request Header Fields Too Large", code: Code.ResourceExhausted },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, reason: "Payload Too Large", code: Code.ResourceExhausted },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: "Request Timeout", code: Code.DeadlineExceeded },
};

/** The raw HTTP/1.1 response for a parser error code. */
export function clientErrorResponse(errorCode: string | undefined): string {
  const refusal = (errorCode !== undefined && refusals[errorCode]) || BAD_REQUEST;
  const body = JSON.stringify({ code: refusal.code, message: refusal.reason });
  return (
    `HTTP/1.1 ${refusal.status} ${refusal.reason}\r\n` +
    "Content-Type: application/json\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}

type HttpSocket = Duplex & { _httpMessage?: { headersSent?: boolean } | null };

/** http.Server `clientError` listener: answers like Node's default, with a body. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const s = socket as HttpSocket;
  // Nothing may be written once a response to this connection has started (it would corrupt it).
  if (err.code !== "ECONNRESET" && s.writable && !s._httpMessage?.headersSent) {
    s.write(clientErrorResponse(err.code));
  }
  s.destroy(err);
}
