/**
 * The `roster` command line: parses the arguments, reads `--env-file`s, then runs one command.
 * Operator mistakes (usage, configuration, start-up conditions) print one line that says what to
 * do, without a stack trace; exit status 2 for usage errors, 1 for every other failure.
 */
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { ConfigError } from "../config/load-config.js";
import { createLogger } from "../logger.js";
import { StartupError } from "../startup-error.js";
import { adminCreate, tokenIssue, tokenList, tokenRevoke } from "./admin-commands.js";
import { parseArgs, UsageError, type ParsedArgs } from "./args.js";
import { COMMANDS, commandHelp, generalHelp, isGroup } from "./help.js";
import { keyFingerprint } from "./key-command.js";
import { migrate } from "./migrate-command.js";
import { ready } from "./ready-command.js";
import { start } from "./start-command.js";

type Command = (args: ParsedArgs) => Promise<number | undefined>;

const HANDLERS: Record<string, Command> = {
  start,
  migrate,
  ready,
  "admin create": adminCreate,
  "token issue": tokenIssue,
  "token list": tokenList,
  "token revoke": tokenRevoke,
  "key fingerprint": keyFingerprint,
};

/** Resolves with the exit status, or undefined when the command keeps running (start). */
export async function runCli(argv: readonly string[]): Promise<number | undefined> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    return usageFailure((err as Error).message);
  }
  // a command is one word ("start") or two ("token issue"), with nothing after it
  const [first = "start", second] = args.words;
  const command = [second === undefined ? first : `${first} ${second}`].find((c) => COMMANDS[c] && args.words.length <= 2);
  const group = args.words.length === 1 && isGroup(first) ? first : undefined;
  if (args.help) {
    const text = args.words.length === 0 ? generalHelp() : command ? commandHelp(command) : group ? generalHelp(group) : undefined;
    if (text === undefined) return usageFailure(`unknown command "${args.words.join(" ")}"`);
    process.stdout.write(text);
    return 0;
  }
  if (group) {
    process.stderr.write(generalHelp(group));
    return 2;
  }
  const handler = command === undefined ? undefined : HANDLERS[command];
  if (!handler) return usageFailure(`unknown command "${args.words.join(" ")}"`);
  try {
    for (const file of args.envFiles) loadEnvFile(file);
    return await handler(args);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(err.message, command);
    reportFailure(err);
    return 1;
  }
}

/** Adds the file's variables that the environment does not set already (Node's own loader overrides on 22). */
function loadEnvFile(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`--env-file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (process.env[key] === undefined) process.env[key] = value;
  }
}

function usageFailure(message: string, command?: string): number {
  process.stderr.write(`roster: ${message}\nRun \`roster ${command ? `${command} ` : ""}--help\` for usage.\n`);
  return 2;
}

/** One fatal JSON line; a stack only for what is not an operator's condition (a bug). */
export function reportFailure(err: unknown): void {
  const log = createLogger("info", { sync: true });
  if (err instanceof ConfigError || err instanceof StartupError) {
    log.fatal(err.message);
  } else {
    log.fatal({ err }, `roster failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
