import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";

/**
 * Why the request's body could not be decoded (the client's error message), when it could not.
 * Set by the decode check in front of connect (decode-check.ts), which hands connect the empty
 * message instead.
 */
export const decodeFailureKey = createContextKey<string | undefined>(undefined, { description: "request decode failure" });

/**
 * Refuses a request whose body did not decode (errors.md §7) in the protocol's own error form.
 * Runs before origin and auth checks: ZITADEL decodes a request before authenticating it.
 */
export function createDecodingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const failure = req.contextValues.get(decodeFailureKey);
    if (failure !== undefined) {
      throw new ConnectError(failure, Code.InvalidArgument);
    }
    return next(req);
  };
}
