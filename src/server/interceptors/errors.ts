import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { internalConnectError, toConnectError } from "../error-mapping.js";

/**
 * Turns whatever the inner layers throw into the wire error (errors.md §1). Anything that is
 * neither a DomainError nor a ConnectError is a bug or an outage: its cause is logged, the
 * client only learns `ROSTER-int01`.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      const mapped = toConnectError(err);
      if (mapped) throw mapped;
      logger.error({ err, procedure: `/${req.service.typeName}/${req.method.name}` }, "unexpected error in handler");
      throw internalConnectError();
    }
  };
}

