/**
 * The instance key every code and sealed notification depends on, checked against the database:
 * the first start records the key's fingerprint; a later start with another key is refused, and
 * a process that joins an existing instance on a server database without any key does not
 * silently make a new one.
 */
import type { Logger } from "pino";
import { createMasterKey, findMasterKey, masterKeyFingerprint, masterKeyPath, type MasterKeySource } from "../config/keys.js";
import type { Store } from "../domain/store.js";
import { DEFAULT_ORG_SETTING } from "./bootstrap.js";
import { StartupError } from "../startup-error.js";

export const KEY_FINGERPRINT_SETTING = "master_key_fingerprint";

export interface InstanceKeyOptions extends MasterKeySource {
  /** DATABASE_URL is set: other processes (other data directories) may share the database. */
  serverDatabase: boolean;
  logger: Pick<Logger, "warn">;
}

export async function resolveInstanceKey(store: Store, opts: InstanceKeyOptions): Promise<Buffer> {
  let found = await findMasterKey(opts);
  if (!found) {
    const expected = await store.read.getSetting(KEY_FINGERPRINT_SETTING);
    const existingInstance = expected !== undefined || (await store.read.getSetting(DEFAULT_ORG_SETTING)) !== undefined;
    if (opts.serverDatabase && existingInstance) {
      throw new StartupError(
        `no instance key: ROSTER_MASTER_KEY is not set and ${masterKeyPath(opts.dataDir)} does not exist, but the database ` +
          `in DATABASE_URL already holds a Roster instance${expected ? ` (key fingerprint ${expected})` : ""}. ` +
          `A new key would make every pending code and notification unusable, so none is generated. Set ROSTER_MASTER_KEY ` +
          `to the key the other Roster processes use (the content of their master.key), or copy that file into ROSTER_DATA_DIR; ` +
          `\`roster key fingerprint\` shows a key's fingerprint.`,
      );
    }
    const key = await createMasterKey(opts.dataDir);
    found = { key, origin: masterKeyPath(opts.dataDir) };
    if (opts.serverDatabase) {
      opts.logger.warn(
        { file: found.origin },
        "generated a new instance key: every Roster process on this database needs the same key (set ROSTER_MASTER_KEY to the file's content) and it must be backed up",
      );
    }
  }
  const fingerprint = masterKeyFingerprint(found.key);
  const stored = await store.transaction((tx) => tx.putSettingIfAbsent(KEY_FINGERPRINT_SETTING, fingerprint));
  if (stored !== fingerprint) {
    throw new StartupError(
      `wrong instance key: the key from ${found.origin} has fingerprint ${fingerprint}, but this database was set up with ` +
        `the key whose fingerprint is ${stored}. Codes and notifications made under that key cannot be read with another. ` +
        `Start with the original key (ROSTER_MASTER_KEY, or master.key in ROSTER_DATA_DIR); \`roster key fingerprint\` shows a key's fingerprint.`,
    );
  }
  return found.key;
}
