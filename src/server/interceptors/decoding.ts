import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";

/**
 * Why the request's protobuf body could not be decoded, when it could not. Set by the decode
 * check in front of connect (decode-check.ts), which hands connect the empty message instead.
 */
export const decodeFailureKey = createContextKey<string | undefined>(undefined, { description: "request decode failure" });

/**
 * Refuses a request whose body was not valid protobuf (errors.md §7) in the protocol's own error
 * form. Runs before origin and auth checks: ZITADEL decodes a request before authenticating it.
 */
export function createDecodingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const failure = req.contextValues.get(decodeFailureKey);
    if (failure !== undefined) {
      throw new ConnectError(`invalid protobuf in request body: ${failure}`, Code.InvalidArgument);
    }
    return next(req);
  };
}
