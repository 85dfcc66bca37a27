/**
 * What every log line written while serving a request carries: the request id (and, once known,
 * the caller). Kept in AsyncLocalStorage so that lines from deep inside (the database pool, an
 * unexpected error) name the request they belong to without threading a logger through.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface RequestScope {
  requestId: string;
  /** The authenticated caller's user id, set by the auth interceptor. */
  principalId?: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

/** pino `mixin`: the bindings of the request being served, if any. */
export function requestBindings(): Record<string, string> {
  const scope = storage.getStore();
  if (!scope) return {};
  return scope.principalId ? { requestId: scope.requestId, principalId: scope.principalId } : { requestId: scope.requestId };
}
