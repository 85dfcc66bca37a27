/**
 * The gRPC health checking protocol (grpc.health.v1.Health) on the API port: `Check`, `List` and
 * `Watch` for the whole server ("") and each API service by name, all with the server's
 * readiness (readiness.ts). Watch sends the current status, then each change (checked every few
 * seconds); when the drain begins it sends NOT_SERVING and ends, so that it does not hold the
 * shutdown.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  type Health,
} from "../gen/grpc/health/v1/health_pb.js";
import type { Readiness } from "./readiness.js";

export interface HealthServiceOptions {
  readiness: Readiness;
  /** Fully qualified names of the services whose health can be asked for ("" is always known). */
  services: string[];
  /** How often a watcher re-checks the readiness. */
  watchIntervalMs?: number;
}

export function createHealthService(opts: HealthServiceOptions): ServiceImpl<typeof Health> {
  const known = new Set(["", ...opts.services]);
  const intervalMs = opts.watchIntervalMs ?? 5_000;
  const status = async (): Promise<ServingStatus> =>
    (await opts.readiness.check()).ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;

  return {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError("unknown service", Code.NotFound);
      return create(HealthCheckResponseSchema, { status: await status() });
    },
    async list() {
      const current = await status();
      const statuses: Record<string, { status: ServingStatus }> = {};
      for (const name of known) statuses[name] = create(HealthCheckResponseSchema, { status: current });
      return create(HealthListResponseSchema, { statuses });
    },
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        // the protocol: SERVICE_UNKNOWN, and the stream stays open in case the service appears;
        // Roster's services never change, so it ends when the client or the drain ends it
        yield create(HealthCheckResponseSchema, { status: ServingStatus.SERVICE_UNKNOWN });
      }
      let last: ServingStatus | undefined = known.has(req.service) ? undefined : ServingStatus.SERVICE_UNKNOWN;
      while (!ctx.signal.aborted) {
        if (known.has(req.service)) {
          const current = await status();
          if (current !== last) {
            last = current;
            yield create(HealthCheckResponseSchema, { status: current });
          }
        }
        if (opts.readiness.draining) {
          if (last !== ServingStatus.NOT_SERVING && known.has(req.service)) {
            yield create(HealthCheckResponseSchema, { status: ServingStatus.NOT_SERVING });
          }
          return;
        }
        await new Promise<void>((resolve) => {
          let offDraining = (): void => {};
          const timer = setTimeout(done, intervalMs);
          ctx.signal.addEventListener("abort", done, { once: true });
          offDraining = opts.readiness.onDraining(done);
          function done() {
            clearTimeout(timer);
            offDraining();
            ctx.signal.removeEventListener("abort", done);
            resolve();
          }
        });
      }
    },
  };
}
