/**
 * Parses the command line of the `roster` CLI: command words first, then `--name value` or
 * `--name=value` options and `--flag`s. Configuration stays in the environment; options only
 * say what a command acts on.
 */

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface ParsedArgs {
  /** The command words, e.g. ["token", "issue"]; empty → `start`. */
  words: string[];
  options: Map<string, string>;
  flags: Set<string>;
  /** `--help` / `-h` anywhere, or the `help` command. */
  help: boolean;
  /** `--env-file FILE` (repeatable; later files do not override earlier ones or the environment). */
  envFiles: string[];
}

/** Options that take a value; every other `--x` is a flag. */
const VALUED = new Set(["env-file", "user", "id", "username", "expires-in-days", "port", "host", "timeout-seconds"]);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const words: string[] = [];
  const options = new Map<string, string>();
  const flags = new Set<string>();
  const envFiles: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      help = true;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (VALUED.has(name)) {
        const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
        if (name === "env-file") envFiles.push(value);
        else options.set(name, value);
      } else if (eq < 0) {
        flags.add(name);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      words.push(arg);
    }
  }
  if (words[0] === "help") {
    help = true;
    words.shift();
  }
  return { words, options, flags, help, envFiles };
}
