/**
 * A real HTTP server on loopback standing in for an SMS gateway behind ROSTER_SMS_WEBHOOK_URL.
 * It verifies the X-Roster-Signature header the way README tells a receiver to, and answers with
 * a status that tests can switch (200, 503 while "down", 400 to reject).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: { id: string; recipient: string; purpose: string; message: string; code: string; userId: string; language: string };
  /** The signature verified with the shared secret and a fresh timestamp. */
  signatureValid: boolean;
  /** The status this server answered. */
  answered: number;
}

export interface WebhookPeer {
  url: string;
  secret: string;
  requests: WebhookRequest[];
  /** Requests answered 2xx. */
  accepted(): WebhookRequest[];
  setStatus(status: number): void;
  /** The statuses of the next requests for `recipient`, one per request; afterwards the general one. */
  scriptFor(recipient: string, statuses: number[]): void;
  waitFor(predicate: (r: WebhookRequest) => boolean, what: string, timeoutMs?: number): Promise<WebhookRequest>;
  close(): Promise<void>;
}

/** What a receiver does: recompute the HMAC over "<t>.<raw body>", compare in constant time, check t is recent. */
export function verifySignature(secret: string, header: string | undefined, raw: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !parts.v1) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookPeer(secret = "webhook-shared-secret-0123456789"): Promise<WebhookPeer> {
  const requests: WebhookRequest[] = [];
  const waiters = new Set<() => void>();
  let status = 200;
  const scripts = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const body = JSON.parse(raw) as WebhookRequest["body"];
      const answered = scripts.get(body.recipient)?.shift() ?? status;
      const header = req.headers["x-roster-signature"];
      requests.push({
        headers: req.headers,
        raw,
        body,
        signatureValid: verifySignature(secret, typeof header === "string" ? header : undefined, raw, Math.floor(Date.now() / 1000)),
        answered,
      });
      res.writeHead(answered, { "content-type": "application/json" });
      res.end(JSON.stringify(answered < 300 ? { accepted: true } : { error: answered === 400 ? "invalid destination number" : "gateway unavailable" }));
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    secret,
    requests,
    accepted: () => requests.filter((r) => r.answered < 300),
    setStatus(s) {
      status = s;
    },
    scriptFor(recipient, statuses) {
      scripts.set(recipient, [...statuses]);
    },
    waitFor(predicate, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const found = () => requests.find(predicate);
        const hit = found();
        if (hit) return resolve(hit);
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        const check = () => {
          const r = found();
          if (!r) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(r);
        };
        waiters.add(check);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
