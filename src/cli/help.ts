/** The `roster` CLI's help texts, one per command. */

export interface CommandHelp {
  usage: string;
  summary: string;
  details?: string;
}

const ENV_NOTE = `Configuration comes from the environment (see README, "Configuration"); --env-file FILE
reads KEY=value lines from FILE first (variables already set win; repeatable).`;

export const COMMANDS: Record<string, CommandHelp> = {
  start: {
    usage: "roster start [--env-file FILE]",
    summary: "serve the API on PORT (the default command)",
    details: `Opens the database (DATABASE_URL, or the embedded PostgreSQL in ROSTER_DATA_DIR), applies
pending migrations, creates the instance on first start and serves gRPC, gRPC-web, Connect and
REST on one port. SIGTERM or SIGINT drains requests in flight (ROSTER_SHUTDOWN_GRACE_SECONDS) and
exits 0; a second signal exits at once.`,
  },
  migrate: {
    usage: "roster migrate [--env-file FILE]",
    summary: "apply pending database migrations and exit",
  },
  ready: {
    usage: "roster ready [--host HOST] [--port PORT] [--timeout-seconds N]",
    summary: "exit 0 when the Roster on PORT answers /readyz with 200, 1 otherwise",
    details: `For scripts and container health checks. HOST defaults to 127.0.0.1, PORT to $PORT or 8080.
With --timeout-seconds N, keeps asking for up to N seconds (default: ask once).`,
  },
  "admin create": {
    usage: "roster admin create [--username NAME]",
    summary: "create a machine user with IAM_OWNER and print a new token for it",
    details: `Recovers administrator access when admin.pat is lost: the new user belongs to the default
organization; its personal access token is printed once on stdout (store it, it cannot be shown
again). NAME defaults to admin-<random>.`,
  },
  "token issue": {
    usage: "roster token issue --user USER_ID [--expires-in-days N]",
    summary: "print a new personal access token for a user",
  },
  "token list": {
    usage: "roster token list --user USER_ID",
    summary: "list a user's tokens (id, created, expires, revoked; never the secret)",
  },
  "token revoke": {
    usage: "roster token revoke --id TOKEN_ID",
    summary: "revoke a token; requests with it are refused from then on",
  },
  "key fingerprint": {
    usage: "roster key fingerprint",
    summary: "print the fingerprint of the instance key, and the one the database expects",
    details: `The instance key is ROSTER_MASTER_KEY or ROSTER_DATA_DIR/master.key. Every process on one
database must use the same key; compare fingerprints to find the one that differs.`,
  },
};

/** Every command's summary; with `group` ("token"), only that group's. */
export function generalHelp(group?: string): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS)
    .filter(([name]) => group === undefined || name.startsWith(`${group} `))
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Roster: an identity service with ZITADEL's User Service v2 API.

Usage: roster [--env-file FILE] ${group ? `${group} <subcommand>` : "<command>"} [options]

Commands:
${lines.join("\n")}
  help [command]${" ".repeat(Math.max(0, width - 14))}  show this help, or a command's

${ENV_NOTE}
`;
}

export function commandHelp(name: string): string | undefined {
  const c = COMMANDS[name];
  if (!c) return undefined;
  return `Usage: ${c.usage}

${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.
${c.details ? `\n${c.details}\n` : ""}
${ENV_NOTE}
`;
}

/** "token" → true: the first word of several commands. */
export function isGroup(word: string): boolean {
  return Object.keys(COMMANDS).some((name) => name.startsWith(`${word} `));
}
