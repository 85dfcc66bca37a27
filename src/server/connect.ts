/**
 * The RPC side of the edge: gRPC, gRPC-web and Connect through one connect router, and the same
 * routes with the same interceptors as an in-process transport for the REST gateway.
 */
import type { DescService } from "@bufbuild/protobuf";
import { createRouterTransport, type ConnectRouter, type ConnectRouterOptions, type Interceptor, type ServiceImpl, type Transport } from "@connectrpc/connect";
import type { Logger } from "pino";
import { createOriginInterceptor, type OriginPolicy } from "./cors.js";
import { createAuthInterceptor, type Authenticate } from "./interceptors/auth.js";
import { createAuthorizeInterceptor, type AuthorizeRequest } from "./interceptors/authorize.js";
import { createDecodingInterceptor } from "./interceptors/decoding.js";
import { createErrorInterceptor } from "./interceptors/errors.js";
import { contextValuesWithLog, createLoggingInterceptor } from "./interceptors/logging.js";
import { createNulCheckInterceptor } from "./interceptors/nul-check.js";
import { createRequestValidator, createValidationInterceptor } from "./interceptors/validation.js";
import { createRpcNodeHandler, type NodeHandler } from "./node-adapter.js";

export interface ServiceRegistration {
  service: DescService;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  impl: Partial<ServiceImpl<any>>;
  /** Permission checks that precede the field rules, if the service has any. */
  authorize?: AuthorizeRequest;
  /**
   * The service's callers prove themselves by other means (the self-service codes): the auth
   * interceptor neither requires nor reads a token for it, and its handlers have no principal.
   */
  withoutToken?: boolean;
}

export interface RpcOptions {
  logger: Logger;
  services: ServiceRegistration[];
  authenticate: Authenticate;
  originPolicy: OriginPolicy | undefined;
  maxRequestBytes: number;
}

/** logging → error mapping → decoding → (origin) → auth → NUL check → authorize → validation → handler. */
export function createInterceptors(opts: RpcOptions): Interceptor[] {
  const authorizers = new Map<string, AuthorizeRequest>();
  for (const { service, authorize } of opts.services) if (authorize) authorizers.set(service.typeName, authorize);
  const tokenless = new Set(opts.services.filter((s) => s.withoutToken).map((s) => s.service.typeName));
  return [
    createLoggingInterceptor(),
    createErrorInterceptor(opts.logger),
    createDecodingInterceptor(),
    ...(opts.originPolicy ? [createOriginInterceptor(opts.originPolicy)] : []),
    createAuthInterceptor(opts.authenticate, tokenless),
    // before anything reads stored data with the request's strings
    createNulCheckInterceptor(),
    ...(authorizers.size > 0 ? [createAuthorizeInterceptor(authorizers)] : []),
    createValidationInterceptor(createRequestValidator()),
  ];
}

function routerOptions(opts: RpcOptions): ConnectRouterOptions {
  return {
    interceptors: createInterceptors(opts),
    readMaxBytes: opts.maxRequestBytes,
    // Strict: JSON bodies reach connect already pruned of unknown fields (decode-check.ts), so
    // unknown fields are ignored and unknown enum names refused, as on REST (contract.md §3).
    jsonOptions: { ignoreUnknownFields: false },
  };
}

function routes(services: ServiceRegistration[]): (router: ConnectRouter) => void {
  // Methods missing from a partial impl answer UNIMPLEMENTED (connect fills them in).
  return (router) => {
    for (const { service, impl } of services) router.service(service, impl);
  };
}

/** gRPC, gRPC-web (binary and text) and Connect. */
export function createRpcHandler(opts: RpcOptions): NodeHandler {
  return createRpcNodeHandler({
    router: routerOptions(opts),
    routes: routes(opts.services),
    contextValues: contextValuesWithLog,
    maxRequestBytes: opts.maxRequestBytes,
    logger: opts.logger,
  });
}

/** The same routes and interceptors, reachable in-process (for the REST gateway). */
export function createInProcessTransport(opts: RpcOptions): Transport {
  return createRouterTransport(routes(opts.services), { router: routerOptions(opts) });
}
