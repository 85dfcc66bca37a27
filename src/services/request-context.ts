import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../domain/principal.js";

/**
 * The authenticated caller, set by the auth interceptor (src/server/interceptors/auth.ts)
 * before any handler runs. Handlers read it with `principalOf(ctx)`.
 */
export const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "authenticated caller",
});

export function principalOf(ctx: Pick<HandlerContext, "values">): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw new Error("no principal in context: auth interceptor missing");
  return p;
}
