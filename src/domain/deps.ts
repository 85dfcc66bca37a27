import type { Store } from "./store.js";
import type { Config } from "../config/config.js";
import type { PermissionChecker } from "./permissions.js";
import type { PasswordHasher } from "./users/password-hash.js";

/** Everything a domain command needs besides its input: the store and pure collaborators. */
export interface DomainDeps {
  store: Store;
  permissions: PermissionChecker;
  hasher: PasswordHasher;
  keys: { codeHmac: Buffer; notificationAead: Buffer };
  codes: Config["codes"];
  defaultUrlTemplates: Config["defaultUrlTemplates"];
  passwordPolicy: Config["passwordPolicy"];
  now: () => Date;
}
