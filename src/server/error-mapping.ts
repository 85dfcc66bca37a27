/**
 * The one place where errors become wire errors (errors.md):
 * DomainError → ConnectError (gRPC, gRPC-web, Connect), ConnectError → REST status and body.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DomainError, Errors, type ErrorKind } from "../domain/errors.js";
import { ErrorDetailSchema } from "../gen/zitadel/message_pb.js";
import { DatabaseUnavailable } from "../store/pg-errors.js";

const codeOfKind: Record<ErrorKind, Code> = {
  InvalidArgument: Code.InvalidArgument,
  NotFound: Code.NotFound,
  AlreadyExists: Code.AlreadyExists,
  PermissionDenied: Code.PermissionDenied,
  FailedPrecondition: Code.FailedPrecondition,
  Unauthenticated: Code.Unauthenticated,
  Unimplemented: Code.Unimplemented,
  Internal: Code.Internal,
  Unavailable: Code.Unavailable,
  DeadlineExceeded: Code.DeadlineExceeded,
  ResourceExhausted: Code.ResourceExhausted,
};

/** grpc-gateway's HTTP status per gRPC code (errors.md §1). */
const restStatusOfCode: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The if-match mismatch is the one error whose REST status differs from grpc-gateway's (decision 5). */
const restStatusOverrides: ReadonlyMap<string, number> = new Map([[Errors.sequenceMismatch().id, 412]]);

const ERROR_DETAIL_TYPE = ErrorDetailSchema.typeName;

const LONE_SURROGATE = /\p{Surrogate}/u;
const LONE_SURROGATES = /\p{Surrogate}/gu;

/**
 * Error texts travel as UTF-8 (gRPC percent-encodes it into `grpc-message`, which throws on a
 * lone surrogate and resets the stream). A text that echoes client input may hold half of a
 * surrogate pair (a decoder's error quoting one UTF-16 unit of an emoji): it becomes U+FFFD.
 * In a `u` regex a valid pair is one code point, so only lone halves match.
 */
export function wellFormedText(text: string): string {
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, "\ufffd") : text;
}

/** Seconds a client should wait before retrying an UNAVAILABLE answer (HTTP Retry-After). */
export const RETRY_AFTER_SECONDS = 1;
/** The header every "try again later" answer carries. */
export const retryAfterHeader: Readonly<Record<string, string>> = { "retry-after": String(RETRY_AFTER_SECONDS) };

export function connectErrorFromDomain(err: DomainError): ConnectError {
  const details = err.id ? [{ desc: ErrorDetailSchema, value: { id: err.id, message: wellFormedText(err.text) } }] : [];
  const code = codeOfKind[err.kind];
  // Connect sends an error's metadata as HTTP headers, gRPC as trailers
  const metadata = code === Code.Unavailable ? new Headers(retryAfterHeader) : undefined;
  return new ConnectError(wellFormedText(err.message), code, metadata, details, err);
}

/** The same error with a well-formed message (details of ours are built well-formed). */
function withWellFormedMessage(err: ConnectError): ConnectError {
  if (!LONE_SURROGATE.test(err.rawMessage)) return err;
  const fixed = new ConnectError(wellFormedText(err.rawMessage), err.code, err.metadata, undefined, err.cause);
  fixed.details = err.details;
  return fixed;
}

/** The error every unexpected failure turns into; its cause belongs in the log only. */
export function internalConnectError(): ConnectError {
  return connectErrorFromDomain(Errors.internal());
}

/** Any thrown value → ConnectError; `undefined` means "not ours, treat as internal". */
export function toConnectError(err: unknown): ConnectError | undefined {
  if (err instanceof DomainError) return connectErrorFromDomain(err);
  if (err instanceof ConnectError) return withWellFormedMessage(err);
  if (err instanceof DatabaseUnavailable) return connectErrorFromDomain(Errors.databaseUnavailable());
  return undefined;
}

export interface RestErrorDetail {
  "@type": string;
  id: string;
  message: string;
}

export interface RestErrorBody {
  code: number;
  message: string;
  details?: RestErrorDetail[];
}

export interface RestError {
  status: number;
  body: RestErrorBody;
  /** Extra response headers (Retry-After on 503). */
  headers: Record<string, string>;
}

/** ZITADEL error details carried by a ConnectError, whether created here or received from a transport. */
export function errorDetailsOf(err: ConnectError): Array<{ id: string; message: string }> {
  const out: Array<{ id: string; message: string }> = [];
  for (const d of err.details) {
    if ("desc" in d) {
      if (d.desc.typeName !== ERROR_DETAIL_TYPE) continue;
      const v = d.value as { id?: string; message?: string };
      out.push({ id: v.id ?? "", message: v.message ?? "" });
    } else if (d.type === ERROR_DETAIL_TYPE) {
      const v = fromBinary(ErrorDetailSchema, d.value);
      out.push({ id: v.id, message: v.message });
    }
  }
  return out;
}

/** REST status and grpc-gateway style body for a ConnectError (errors.md §4). */
export function restErrorFromConnect(err: ConnectError): RestError {
  const details = errorDetailsOf(err);
  const body: RestErrorBody = { code: err.code, message: wellFormedText(err.rawMessage) };
  if (details.length > 0) {
    body.details = details.map((d) => ({ "@type": `type.googleapis.com/${ERROR_DETAIL_TYPE}`, id: d.id, message: wellFormedText(d.message) }));
  }
  const override = details.map((d) => restStatusOverrides.get(d.id)).find((s) => s !== undefined);
  const headers: Record<string, string> = err.code === Code.Unavailable ? { ...retryAfterHeader } : {};
  return { status: override ?? restStatusOfCode[err.code] ?? 500, body, headers };
}
