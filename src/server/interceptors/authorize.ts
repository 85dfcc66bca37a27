import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { ContextValues, Interceptor } from "@connectrpc/connect";

/** What a pre-validation permission check may look at: the decoded request and its caller. */
export interface AuthorizeInput {
  method: DescMethod;
  message: Message;
  header: Headers;
  contextValues: ContextValues;
}

/**
 * A service's permission check that runs after authentication and before the field rules, where
 * the spec places it (auth.md §5: AddHumanUser's `user.write` on the context organization).
 */
export type AuthorizeRequest = (req: AuthorizeInput) => Promise<void>;

export function createAuthorizeInterceptor(byService: ReadonlyMap<string, AuthorizeRequest>): Interceptor {
  return (next) => async (req) => {
    const authorize = byService.get(req.service.typeName);
    if (authorize && !req.stream) await authorize(req);
    return next(req);
  };
}
