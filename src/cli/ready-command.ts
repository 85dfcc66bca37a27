/** `roster ready`: exit 0 when the local Roster reports ready on /readyz. */
import { UsageError, type ParsedArgs } from "./args.js";

export async function ready(args: ParsedArgs): Promise<number> {
  const host = args.options.get("host") ?? "127.0.0.1";
  const port = args.options.get("port") ?? process.env.PORT?.trim() ?? "8080";
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new UsageError(`--port (or PORT) must be 1 to 65535, got "${port}"`);
  const waitSeconds = Number(args.options.get("timeout-seconds") ?? "0");
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--timeout-seconds must be a number of seconds ≥ 0`);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/readyz`;
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const outcome = await ask(url);
    if (outcome === "ready") {
      process.stdout.write(`ready: ${url}\n`);
      return 0;
    }
    if (Date.now() >= deadline) {
      process.stderr.write(`not ready: ${url}: ${outcome}\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ask(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    return res.status === 200 ? "ready" : `HTTP ${res.status} ${body.trim().slice(0, 200)}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (err as Error).message;
  }
}
