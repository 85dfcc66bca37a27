/** `roster key fingerprint`: the configured instance key's fingerprint and the database's. */
import { findMasterKey, masterKeyFingerprint, masterKeyPath } from "../config/keys.js";
import { KEY_FINGERPRINT_SETTING } from "../auth/instance-key.js";
import type { ParsedArgs } from "./args.js";
import { withDatabase } from "./command-context.js";

export async function keyFingerprint(_args: ParsedArgs): Promise<number> {
  return withDatabase("key fingerprint", async ({ config, store }) => {
    const found = await findMasterKey({ envValue: config.masterKeyBase64, dataDir: config.dataDir });
    const expected = await store.read.getSetting(KEY_FINGERPRINT_SETTING);
    const mine = found ? masterKeyFingerprint(found.key) : undefined;
    process.stdout.write(
      `instance key: ${mine ?? "none"} (${found?.origin ?? `ROSTER_MASTER_KEY is unset and ${masterKeyPath(config.dataDir)} does not exist`})\n` +
        `database expects: ${expected ?? "none recorded yet"}\n`,
    );
    if (mine && expected && mine !== expected) {
      process.stderr.write("the keys differ: this process would refuse to start\n");
      return 1;
    }
    return mine ? 0 : 1;
  });
}
