import type { Interceptor } from "@connectrpc/connect";
import type { Principal } from "../../domain/principal.js";
import { currentRequestScope } from "../../log-context.js";
import { principalKey } from "../../services/request-context.js";

export interface AuthHeaders {
  authorization: string | null;
  /** `x-zitadel-orgid`; an empty value counts as absent (auth.md §4). */
  orgId: string | null;
}

/** Resolves the caller or throws the DomainError that refuses it. */
export type Authenticate = (headers: AuthHeaders) => Promise<Principal>;

/**
 * Runs before validation and the handler: every RPC needs an authenticated caller (auth.md §1),
 * except those of the services named in `tokenless`, which get no principal at all.
 */
export function createAuthInterceptor(authenticate: Authenticate, tokenless: ReadonlySet<string> = new Set()): Interceptor {
  return (next) => async (req) => {
    if (tokenless.has(req.service.typeName)) return next(req);
    const orgId = req.header.get("x-zitadel-orgid");
    const principal = await authenticate({
      authorization: req.header.get("authorization"),
      orgId: orgId === null || orgId === "" ? null : orgId,
    });
    req.contextValues.set(principalKey, principal);
    const scope = currentRequestScope();
    if (scope) scope.principalId = principal.userId;
    return next(req);
  };
}
