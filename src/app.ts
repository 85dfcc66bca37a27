import type { Logger } from "pino";
import type { Config } from "./config/config.js";
import { DEFAULT_POOL_MAX } from "./config/load-config.js";
import { deriveKeys } from "./config/keys.js";
import { resolveInstanceKey } from "./auth/instance-key.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { ensureInstance } from "./auth/bootstrap.js";
import type { DomainDeps } from "./domain/deps.js";
import { createPermissionChecker } from "./domain/permissions.js";
import { createPasswordHasher, setMaxImportCost } from "./domain/users/password-hash.js";
import { UserService } from "./gen/zitadel/user/v2/user_service_pb.js";
import { OrganizationService } from "./gen/zitadel/org/v2/org_service_pb.js";
import { SelfService } from "./gen/roster/selfservice/v1/self_service_pb.js";
import { startDelivery, type Delivery } from "./notify/start-delivery.js";
import { outboxCounts } from "./store/notification-outbox.js";
import { createReadiness, startServer } from "./server/server.js";
import { createOrganizationService } from "./services/organization-service.js";
import { createSelfService } from "./services/self-service.js";
import { authorizeUserServiceRequest, createUserService } from "./services/user-service.js";
import { openDatabase } from "./store/database.js";
import { createStore } from "./store/kysely-store.js";
import { migrateToLatest } from "./store/migrate.js";
import { listenPrincipalChanges, type PrincipalChangeFeed } from "./store/principal-changes.js";

export interface RunningRoster {
  port: number;
  /** Where `/metrics` is served when ROSTER_METRICS_PORT is set. */
  metricsPort?: number;
  /** `/readyz` 503 and gRPC health NOT_SERVING from now on; close() does it first. */
  markDraining(): void;
  /**
   * Stops accepting, lets in-flight requests finish (within the shutdown grace), closes the
   * database. Password work still waiting for a hashing slot when the grace is nearly over is
   * refused (UNAVAILABLE).
   */
  close(): Promise<ShutdownReport>;
}

export interface ShutdownReport {
  /**
   * bcrypt operations still running: native work that cannot be interrupted, and that a normal
   * process exit would wait for (see main.ts).
   */
  runningHashes: number;
}

/** Bounded concurrent bcrypt operations: each occupies one libuv pool thread (stack-notes). */
const MAX_CONCURRENT_HASHES = 2;

export interface RosterHooks {
  /**
   * Roster cannot go on (the embedded database died and could not be restarted). The CLI logs and
   * exits so that a supervisor restarts it; by default it is only logged.
   */
  onFatal?: (err: Error) => void;
}

/** Opens the database, migrates, creates the instance on first start and serves all protocols. */
export interface StartOptions extends RosterHooks {
  /** The clock every part of Roster reads (default: the system's); tests move it to test expiry. */
  now?: () => Date;
  /**
   * One worker of several (ROSTER_WORKERS): it logs "worker listening", and the primary logs
   * "roster listening" once all of them listen.
   */
  worker?: boolean;
  /** Hears every statement sent through the pool (statement counts in tests and the benchmark). */
  onStatement?: (sql: string) => void;
}

export async function startRoster(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningRoster> {
  const now = options.now ?? (() => new Date());
  const hooks: RosterHooks = options;
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedRuntimeDir: config.embeddedRuntimeDir,
    timeouts: config.database,
    maxConnections: config.database.poolMax ?? DEFAULT_POOL_MAX,
    onStatement: options.onStatement,
    logger,
    onFatal: hooks.onFatal ?? ((err) => logger.error({ err: err.message }, "roster cannot continue")),
  });
  let principalFeed: PrincipalChangeFeed | undefined;
  try {
    await migrateToLatest(database.db);
    const store = createStore(database.db);
    const keys = deriveKeys(
      await resolveInstanceKey(store, {
        envValue: config.masterKeyBase64,
        dataDir: config.dataDir,
        serverDatabase: config.databaseUrl !== undefined,
        logger,
      }),
    );
    const instance = await ensureInstance({ store, config, logger, now });
    logger.info({ defaultOrgId: instance.defaultOrgId, created: instance.created }, "instance ready");

    setMaxImportCost(config.bcryptMaxImportCost);
    const hasher = createPasswordHasher({
      cost: config.bcryptCost,
      maxConcurrent: MAX_CONCURRENT_HASHES,
      // hashes made here at ROSTER_BCRYPT_COST must keep verifying whatever the import bound
      maxVerifyCost: Math.max(config.bcryptCost, config.bcryptMaxImportCost),
    });
    const deps: DomainDeps = {
      store,
      permissions: createPermissionChecker(),
      hasher,
      keys,
      codes: config.codes,
      defaultUrlTemplates: config.defaultUrlTemplates,
      passwordPolicy: config.passwordPolicy,
      now,
    };
    const authenticator = createAuthenticator({ store, config, logger, now });
    // other processes' lock, deactivation, deletion or membership change empties this one's cache
    principalFeed = await listenPrincipalChanges({ url: database.url, logger, onChange: (id) => authenticator.invalidate(id) });
    const readiness = createReadiness({
      pingDatabase: () => database.ping(),
      onDatabaseChange: (answering, detail) =>
        answering
          ? logger.info("readiness: the database answers again")
          : logger.warn({ cause: detail }, "readiness: the database does not answer (/readyz 503)"),
    });
    const server = await startServer({
      readiness,
      metrics: {
        pool: () => database.poolStats(),
        passwordHashing: () => hasher.stats?.() ?? { running: 0, queued: 0 },
        // every delivery state (pending, sending, sent, failed, discarded), 0 included
        notificationsByStatus: () => outboxCounts(database.db),
      },
      config,
      logger,
      services: [
        { service: UserService, impl: createUserService(deps), authorize: authorizeUserServiceRequest(deps) },
        { service: OrganizationService, impl: createOrganizationService(deps) },
        // the links in verification and reset mails: the code is the proof, no token
        { service: SelfService, impl: createSelfService(deps), withoutToken: true },
      ],
      authenticate: (h) => authenticator.authenticate(h),
      limits: { closeGraceMs: config.shutdownGraceSeconds * 1000, maxConnections: config.maxConnections },
    });
    let delivery: Delivery;
    try {
      delivery = startDelivery({ config: config.delivery, db: database.db, databaseUrl: database.url, keys, logger, now });
    } catch (e) {
      await server.close();
      throw e;
    }
    logger.info({ port: server.port, embeddedDatabase: database.embedded }, options.worker ? "worker listening" : "roster listening");
    return {
      port: server.port,
      metricsPort: server.metricsPort,
      markDraining: () => server.markDraining(),
      async close() {
        // not ready before anything else: load balancers stop sending while requests drain
        server.markDraining();
        // Requests in flight may still need a hashing slot: queued password work is refused only
        // shortly before the grace ends (so its request still gets its UNAVAILABLE answer), and
        // cannot hold the shutdown beyond it.
        const graceMs = config.shutdownGraceSeconds * 1000;
        const refuseQueued = setTimeout(() => hasher.close(), Math.max(0, graceMs - Math.min(500, graceMs / 2)));
        // The worker stops claiming at once and has the same grace for the sends in flight.
        const deliveryStopped = delivery.stop(graceMs);
        try {
          await server.close();
        } finally {
          clearTimeout(refuseQueued);
          await deliveryStopped;
        }
        await principalFeed?.close();
        await database.close();
        return { runningHashes: hasher.close().running };
      },
    };
  } catch (e) {
    await principalFeed?.close();
    await database.close();
    throw e;
  }
}
