/**
 * Recovering and managing access from the server's shell: `admin create`, `token issue`,
 * `token list`, `token revoke`. The plain token is printed once on stdout and never stored.
 */
import { randomBytes } from "node:crypto";
import { createAdministrator, issuePersonalAccessToken } from "../auth/bootstrap.js";
import { UsernameConflict } from "../domain/store.js";
import { StartupError } from "../startup-error.js";
import { UsageError, type ParsedArgs } from "./args.js";
import { withDatabase } from "./command-context.js";

export async function adminCreate(args: ParsedArgs): Promise<number> {
  const username = args.options.get("username") ?? `admin-${randomBytes(3).toString("hex")}`;
  if (!/^[\p{L}\p{N}._@-]{1,200}$/u.test(username)) {
    throw new UsageError(`--username may hold letters, digits and . _ @ - (1 to 200), got "${username}"`);
  }
  return withDatabase("admin create", async ({ store, defaultOrgId, logger }) => {
    const orgId = await defaultOrgId();
    if (await store.read.usernameTaken(username)) throw new StartupError(`the username "${username}" is taken; choose another with --username`);
    let created;
    try {
      created = await store.transaction((tx) => createAdministrator(tx, { orgId, username, description: "Administrator created with roster admin create", now: new Date() }));
    } catch (err) {
      if (err instanceof UsernameConflict) throw new StartupError(`the username "${username}" is taken; choose another with --username`);
      throw err;
    }
    logger.warn({ userId: created.adminId, username, tokenId: created.tokenId }, "administrator created (IAM_OWNER); its token is printed once");
    process.stdout.write(`${created.token}\n`);
    process.stderr.write(`user id ${created.adminId}, username ${username}, token id ${created.tokenId}\n`);
    return 0;
  });
}

export async function tokenIssue(args: ParsedArgs): Promise<number> {
  const userId = required(args, "user");
  const days = args.options.get("expires-in-days");
  if (days !== undefined && (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 36500)) {
    throw new UsageError(`--expires-in-days must be a whole number from 1 to 36500, got "${days}"`);
  }
  return withDatabase("token issue", async ({ store }) => {
    const user = await store.read.getUser(userId);
    if (!user || user.state === "deleted") throw new StartupError(`no user with id ${userId}`);
    const now = new Date();
    const expiresAt = days === undefined ? null : new Date(now.getTime() + Number(days) * 86_400_000);
    const { id, token } = await issuePersonalAccessToken(store, userId, expiresAt, () => now);
    process.stdout.write(`${token}\n`);
    process.stderr.write(`token id ${id} for user ${userId} (${user.username})${expiresAt ? `, expires ${expiresAt.toISOString()}` : ", no expiry"}\n`);
    return 0;
  });
}

export async function tokenList(args: ParsedArgs): Promise<number> {
  const userId = required(args, "user");
  return withDatabase("token list", async ({ store }) => {
    const tokens = await store.transaction((tx) => tx.listTokens(userId));
    process.stdout.write("id\tcreated\texpires\trevoked\n");
    for (const t of tokens) {
      process.stdout.write(`${t.id}\t${t.createdAt.toISOString()}\t${t.expiresAt?.toISOString() ?? "-"}\t${t.revokedAt?.toISOString() ?? "-"}\n`);
    }
    return 0;
  });
}

export async function tokenRevoke(args: ParsedArgs): Promise<number> {
  const id = required(args, "id");
  return withDatabase("token revoke", async ({ store }) => {
    const found = await store.transaction((tx) => tx.revokeToken(id, new Date()));
    if (!found) throw new StartupError(`no token with id ${id} (see roster token list --user USER_ID)`);
    process.stderr.write(`token ${id} revoked\n`);
    return 0;
  });
}

function required(args: ParsedArgs, name: string): string {
  const v = args.options.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}
