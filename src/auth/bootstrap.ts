import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { newId } from "../domain/ids.js";
import { DEFAULT_ORG_SETTING } from "../domain/orgs/default-org.js";
import { INSTANCE_SCOPE } from "../domain/permissions.js";
import type { NewEvent, Store, StoreTx, UserRecord } from "../domain/store.js";
import { StartupError } from "../startup-error.js";
import { newPersonalAccessToken } from "./tokens.js";

export { DEFAULT_ORG_SETTING } from "../domain/orgs/default-org.js";
/** Advisory lock key serialising first-start bootstrap across processes ("Rost" in ASCII). */
export const BOOTSTRAP_LOCK_KEY = 0x526f7374;
export const DEFAULT_ORG_NAME = "Default";
export const ADMIN_USERNAME = "admin";
export const ADMIN_ROLE = "IAM_OWNER";

export interface BootstrapDeps {
  store: Store;
  config: Pick<Config, "firstAdminPatFile">;
  logger: Pick<Logger, "info">;
  /** The clock (default: the system's). */
  now?: () => Date;
}

export interface InstanceInfo {
  defaultOrgId: string;
  /** True only for the process that created the instance (and wrote the token file). */
  created: boolean;
}

/** Another process has bootstrapped the instance; whatever this one wrote is rolled back. */
class AlreadyBootstrapped extends Error {
  constructor(readonly defaultOrgId: string) {
    super("instance already bootstrapped");
  }
}

/**
 * Creates the instance on first start: the default organization, the machine user `admin` with
 * `IAM_OWNER` on the instance, and a personal access token for it, written once to
 * `config.firstAdminPatFile`. Later starts find the setting and create nothing.
 */
export async function ensureInstance(deps: BootstrapDeps): Promise<InstanceInfo> {
  const { store, config, logger } = deps;
  const known = await store.read.getSetting(DEFAULT_ORG_SETTING);
  if (known) return { defaultOrgId: known, created: false };

  // Fail before creating anything if the token could not be written anywhere.
  await mkdir(dirname(config.firstAdminPatFile), { recursive: true, mode: 0o700 });

  // The lock's transaction is also the one that creates everything (Store.withAdvisoryLock runs
  // fn in a transaction): it commits as a whole, and needs no second pool connection. The token
  // file is written inside it, before the commit: if it cannot be written nothing is created, and
  // the next start tries again — an instance without a usable first credential never exists.
  let outcome: { defaultOrgId: string; adminId: string; token: string };
  let written = false;
  try {
    outcome = await store.withAdvisoryLock(BOOTSTRAP_LOCK_KEY, async (tx) => {
      const existing = await tx.getSetting(DEFAULT_ORG_SETTING);
      if (existing) throw new AlreadyBootstrapped(existing);
      const created = await createInstance(tx, (deps.now ?? systemNow)());
      try {
        await writeSecretFile(config.firstAdminPatFile, created.token + "\n");
        written = true;
      } catch (err) {
        throw new StartupError(
          `first start failed: the first administrator's token could not be written to ` +
            `${config.firstAdminPatFile}: ${(err as Error).message}. Nothing was created; make the path ` +
            `writable (ROSTER_FIRST_ADMIN_PAT_FILE) and start again.`,
          { cause: err },
        );
      }
      return created;
    });
  } catch (err) {
    if (err instanceof AlreadyBootstrapped) return { defaultOrgId: err.defaultOrgId, created: false };
    // the commit failed after the file was written: its token names nothing
    if (written) await rm(config.firstAdminPatFile, { force: true });
    throw err;
  }

  logger.info(
    { defaultOrgId: outcome.defaultOrgId, adminUserId: outcome.adminId, patFile: config.firstAdminPatFile },
    "instance created; first administrator's personal access token written to file",
  );
  return { defaultOrgId: outcome.defaultOrgId, created: true };
}

async function createInstance(tx: StoreTx, now: Date): Promise<{ defaultOrgId: string; adminId: string; token: string }> {
  const orgId = newId();
  await tx.insertOrg({ id: orgId, name: DEFAULT_ORG_NAME, createdAt: now });

  const { adminId, token } = await createAdministrator(tx, { orgId, username: ADMIN_USERNAME, description: "First administrator, created at bootstrap", now });

  // Written last: the setting is what marks the instance as existing.
  const stored = await tx.putSettingIfAbsent(DEFAULT_ORG_SETTING, orgId);
  if (stored !== orgId) throw new AlreadyBootstrapped(stored);
  return { defaultOrgId: orgId, adminId, token };
}

/**
 * A machine user with IAM_OWNER on the instance and a personal access token (returned once, stored
 * as a hash): the first administrator, and the one `roster admin create` adds to recover access.
 * The caller checks that the username is free.
 */
export async function createAdministrator(
  tx: StoreTx,
  a: { orgId: string; username: string; description: string; now: Date },
): Promise<{ adminId: string; tokenId: string; token: string }> {
  const admin = adminUser(newId(), a.orgId, a.username, a.description, a.now);
  await tx.insertUser(admin);
  await tx.appendEvents([adminAddedEvent(admin)]);
  await tx.addMembership({ userId: admin.id, scope: INSTANCE_SCOPE, roles: [ADMIN_ROLE] });

  const { token, hash } = newPersonalAccessToken();
  const tokenId = newId();
  await tx.insertToken({ id: tokenId, userId: admin.id, hash, expiresAt: null, revokedAt: null, createdAt: a.now });
  return { adminId: admin.id, tokenId, token };
}

function adminUser(id: string, orgId: string, username: string, description: string, now: Date): UserRecord {
  return {
    id,
    orgId,
    type: "machine",
    state: "active",
    username,
    givenName: "",
    familyName: "",
    nickName: "",
    displayName: "",
    preferredLanguage: "",
    gender: 0,
    email: "",
    emailVerified: false,
    phone: "",
    phoneVerified: false,
    passwordHash: null,
    passwordChangeRequired: false,
    passwordChangedAt: null,
    machineName: username,
    machineDescription: description,
    sequence: 1,
    createdAt: now,
    changedAt: now,
  };
}

function adminAddedEvent(admin: UserRecord): NewEvent {
  return {
    aggregateType: "user",
    aggregateId: admin.id,
    sequence: 1,
    type: "user.machine.added",
    payload: {
      userId: admin.id,
      username: admin.username,
      name: admin.machineName,
      description: admin.machineDescription,
      state: admin.state,
    },
    actorId: "", // the system
    orgId: admin.orgId,
    createdAt: admin.createdAt,
  };
}

/** Writes via a private temporary file and a rename, so the file never exists with wider permissions. */
async function writeSecretFile(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, content, { mode: 0o600, flag: "wx" });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Issues a personal access token for an existing user (tests, admin tooling). The plain token is
 * returned once; only its hash is stored.
 */
export async function issuePersonalAccessToken(
  store: Store,
  userId: string,
  expiresAt: Date | null = null,
  now: () => Date = systemNow,
): Promise<{ id: string; token: string }> {
  const { token, hash } = newPersonalAccessToken();
  const id = newId();
  await store.transaction((tx) =>
    tx.insertToken({ id, userId, hash, expiresAt, revokedAt: null, createdAt: now() }),
  );
  return { id, token };
}

const systemNow = (): Date => new Date();
