/**
 * A real SMTP server on loopback for delivery tests (the nodemailer project's `smtp-server`):
 * STARTTLS with a self-signed certificate made at start, AUTH required (and only offered after
 * STARTTLS), messages parsed with `mailparser`. Its behaviour can be switched while it runs:
 * accept, answer 4xx (down), answer 5xx (reject), or stall (hold DATA unanswered).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export type SmtpBehaviour = "accept" | "tempfail" | "reject" | "stall";

export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The session was upgraded with STARTTLS before the message. */
  secure: boolean;
  /** The user that authenticated the session. */
  user: string | undefined;
  parsed: ParsedMail;
}

export interface SmtpPeer {
  port: number;
  /** ROSTER_SMTP_URL for Roster. */
  url: string;
  user: string;
  password: string;
  /** PEM file of the self-signed certificate (ROSTER_SMTP_CA_FILE). */
  caFile: string;
  /** Messages accepted so far (250 sent), in order. */
  mails: ReceivedMail[];
  /** DATA commands seen, whatever the answer (accepted, refused, stalled). */
  dataAttempts(): number;
  /** DATA commands seen for one recipient. */
  dataAttemptsFor(recipient: string): number;
  setBehaviour(b: SmtpBehaviour): void;
  /** The answers to the next messages for `recipient`, one per message; afterwards the general behaviour. */
  scriptFor(recipient: string, answers: SmtpBehaviour[]): void;
  /** Messages currently held unanswered (stall). */
  stalled(): number;
  /** Answers every held message with 451 (so that stalled clients move on). */
  releaseStalled(): void;
  waitForMails(count: number, timeoutMs?: number): Promise<void>;
  /** Waits for a mail to `recipient` and returns it. */
  mailTo(recipient: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export function makeCertificate(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
    "-keyout", keyFile, "-out", certFile,
    "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ], { stdio: "ignore" });
  return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), certFile };
}

export async function startSmtpPeer(opts: { user?: string; password?: string } = {}): Promise<SmtpPeer> {
  const dir = mkdtempSync(path.join(tmpdir(), "roster-smtp-"));
  const { key, cert, certFile } = makeCertificate(dir);
  const user = opts.user ?? "roster-mailer";
  const password = opts.password ?? "s3cret-Smtp-Pass";
  const mails: ReceivedMail[] = [];
  const attempts = new Map<string, number>();
  let total = 0;
  let behaviour: SmtpBehaviour = "accept";
  const scripts = new Map<string, SmtpBehaviour[]>();
  const held = new Set<(err?: Error) => void>();
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    authMethods: ["PLAIN", "LOGIN"],
    // AUTH is only possible after STARTTLS (allowInsecureAuth stays false)
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user: auth.username });
      else callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo.map((r) => r.address).join(",");
      total++;
      attempts.set(to, (attempts.get(to) ?? 0) + 1);
      const scripted = scripts.get(to)?.shift();
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        // the general behaviour as it is when the message is complete (a release in between counts)
        const mode = scripted ?? behaviour;
        if (mode === "tempfail") return callback(Object.assign(new Error("Service temporarily unavailable, try later"), { responseCode: 451 }));
        if (mode === "reject") return callback(Object.assign(new Error(`Mailbox <${to}> unavailable`), { responseCode: 550 }));
        const accept = async () => {
          const parsed = await simpleParser(Buffer.concat(chunks));
          mails.push({
            to,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
            secure: session.secure,
            user: typeof session.user === "string" ? session.user : undefined,
            parsed,
          });
          callback(null, "Message queued");
          for (const w of waiters) w();
        };
        if (mode === "stall") {
          const release = (err?: Error) => {
            held.delete(release);
            if (err) callback(err);
            else void accept();
          };
          held.add(release);
          return;
        }
        void accept();
      });
    },
    logger: false,
  });
  server.on("error", () => {}); // a client that vanishes mid-session (a killed Roster)

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;

  const waitUntil = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what} (have ${mails.length} mails)`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    user,
    password,
    caFile: certFile,
    mails,
    dataAttempts: () => total,
    dataAttemptsFor: (recipient) => attempts.get(recipient) ?? 0,
    setBehaviour(b) {
      behaviour = b;
    },
    scriptFor(recipient, answers) {
      scripts.set(recipient, [...answers]);
    },
    stalled: () => held.size,
    releaseStalled() {
      for (const release of [...held]) release(Object.assign(new Error("Try again later"), { responseCode: 451 }));
    },
    waitForMails: (count, timeoutMs = 30_000) => waitUntil(() => mails.length >= count, `${count} mails`, timeoutMs),
    async mailTo(recipient, timeoutMs = 30_000) {
      await waitUntil(() => mails.some((m) => m.to === recipient), `a mail to ${recipient}`, timeoutMs);
      return mails.filter((m) => m.to === recipient).at(-1)!;
    },
    async close() {
      for (const release of [...held]) release(Object.assign(new Error("Closing"), { responseCode: 421 }));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `content` to a new temporary file (e.g. a template override) and returns its path. */
export function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "roster-file-"));
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}
