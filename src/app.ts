import type { Logger } from "pino";
import type { Config } from "./config/config.js";
import { deriveKeys, loadMasterKey } from "./config/keys.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { ensureInstance } from "./auth/bootstrap.js";
import type { DomainDeps } from "./domain/deps.js";
import { createPermissionChecker } from "./domain/permissions.js";
import { createPasswordHasher } from "./domain/users/password-hash.js";
import { parseUrlTemplate } from "./domain/users/url-template.js";
import { UserService } from "./gen/zitadel/user/v2/user_service_pb.js";
import { OrganizationService } from "./gen/zitadel/org/v2/org_service_pb.js";
import { SelfService } from "./gen/roster/selfservice/v1/self_service_pb.js";
import { startServer } from "./server/server.js";
import { createOrganizationService } from "./services/organization-service.js";
import { createSelfService } from "./services/self-service.js";
import { authorizeUserServiceRequest, createUserService } from "./services/user-service.js";
import { openDatabase } from "./store/database.js";
import { createStore } from "./store/kysely-store.js";
import { migrateToLatest } from "./store/migrate.js";

export interface RunningRoster {
  port: number;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  close(): Promise<void>;
}

/** Bounded concurrent bcrypt operations: each occupies one libuv pool thread (stack-notes). */
const MAX_CONCURRENT_HASHES = 2;

/** Opens the database, migrates, creates the instance on first start and serves all protocols. */
export interface StartOptions {
  /** The clock every part of Roster reads (default: the system's); tests move it to test expiry. */
  now?: () => Date;
}

export async function startRoster(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningRoster> {
  const now = options.now ?? (() => new Date());
  for (const t of Object.values(config.defaultUrlTemplates)) parseUrlTemplate(t);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
  try {
    await migrateToLatest(database.db);
    const store = createStore(database.db);
    const keys = deriveKeys(await loadMasterKey({ envValue: config.masterKeyBase64, dataDir: config.dataDir }));
    const instance = await ensureInstance({ store, config, logger, now });
    logger.info({ defaultOrgId: instance.defaultOrgId, created: instance.created }, "instance ready");

    const deps: DomainDeps = {
      store,
      permissions: createPermissionChecker(),
      hasher: createPasswordHasher({ cost: config.bcryptCost, maxConcurrent: MAX_CONCURRENT_HASHES }),
      keys,
      codes: config.codes,
      defaultUrlTemplates: config.defaultUrlTemplates,
      passwordPolicy: config.passwordPolicy,
      now,
    };
    const authenticator = createAuthenticator({ store, config, logger, now });
    const server = await startServer({
      config,
      logger,
      services: [
        { service: UserService, impl: createUserService(deps), authorize: authorizeUserServiceRequest(deps) },
        { service: OrganizationService, impl: createOrganizationService(deps) },
        // the links in verification and reset mails: the code is the proof, no token
        { service: SelfService, impl: createSelfService(deps), withoutToken: true },
      ],
      authenticate: (h) => authenticator.authenticate(h),
    });
    logger.info({ port: server.port, embeddedDatabase: database.embedded }, "roster listening");
    return {
      port: server.port,
      async close() {
        await server.close();
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
