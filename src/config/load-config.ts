import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config, DeliveryConfig } from "./config.js";
import { DomainError } from "../domain/errors.js";
import { parseUrlTemplate } from "../domain/users/url-template.js";

/** Raised for a malformed environment variable, naming it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** Where `npm run build:ui` writes the pages: dist/ui of this installation, whatever the cwd. */
const BUILT_UI_DIR = fileURLToPath(new URL("../../dist/ui", import.meta.url));

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  }
  return Number(v);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new ConfigError(`${name} must be true or false, got "${v}"`);
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function logLevel(env: Env): string {
  const v = str(env, "ROSTER_LOG_LEVEL") ?? "info";
  if (!LOG_LEVELS.includes(v)) throw new ConfigError(`ROSTER_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${v}"`);
  return v;
}

/** The URL `v` names, or undefined when it is not one. */
function parseUrl(v: string): URL | undefined {
  try {
    return new URL(v);
  } catch {
    return undefined;
  }
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const v = str(env, name);
  if (v === undefined) return fallback;
  const url = parseUrl(v);
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || !url.host) {
    throw new ConfigError(`${name} must be an absolute http:// or https:// URL (e.g. https://id.example.com), got "${v}"`);
  }
  return v.replace(/\/+$/, "");
}

/** A URL template variable, checked now so that a mistake stops the start and names the variable. */
function urlTemplate(env: Env, name: string, fallback: string): string {
  const v = str(env, name) ?? fallback;
  try {
    parseUrlTemplate(v);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    throw new ConfigError(
      `${name} is not a valid URL template (${err.message}): an absolute http(s) URL with only the placeholders {{.UserID}}, {{.Code}} and {{.OrgID}}, got "${v}"`,
    );
  }
  return v;
}

function databaseUrl(env: Env): string | undefined {
  const v = str(env, "DATABASE_URL");
  if (v === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//i.test(v)) {
    // never echo the value: it may hold a password
    throw new ConfigError("DATABASE_URL must be a postgres:// (or postgresql://) URL, e.g. postgres://user:password@host:5432/roster");
  }
  return v;
}

/** Browser origins: scheme, host and optional port, nothing else (what a browser sends in Origin). */
function corsOrigins(env: Env): string[] {
  const list = (str(env, "ROSTER_CORS_ORIGINS") ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const o of list) {
    const u = parseUrl(o);
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.origin !== o) throw new ConfigError(`ROSTER_CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com or http://localhost:5173 (scheme, host, optional port; no path or trailing slash), got "${o}"`);
  }
  return list;
}

function codeSettings(env: Env, prefix: string) {
  return {
    length: int(env, `${prefix}_CODE_LENGTH`, 6, 6, 20),
    expirySeconds: int(env, `${prefix}_CODE_EXPIRY_SECONDS`, 3600, 1, 30 * 24 * 3600),
  };
}

/** ROSTER_WORKERS: a number of processes, or `auto` for one per core. */
function workers(env: Env): number {
  if (str(env, "ROSTER_WORKERS") === "auto") return os.availableParallelism();
  return int(env, "ROSTER_WORKERS", 1, 1, 256);
}

/**
 * Connections per process. 20 was 21–32 % faster than 10 when an update took several statements
 * in a transaction; with one statement per update, runs of `npm run bench` on a busy 2-core
 * machine could not tell 10 and 20 apart, so the larger one stays for commands that do need a
 * transaction.
 */
export const DEFAULT_POOL_MAX = 20;

/** Reads the configuration from the environment once; every variable is listed in README.md. */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(str(env, "ROSTER_DATA_DIR") ?? "./data");
  const port = int(env, "PORT", 8080, 0, 65535);
  const publicUrl = httpUrl(env, "ROSTER_PUBLIC_URL", `http://localhost:${port || 8080}`);
  return {
    port,
    host: str(env, "ROSTER_HOST") ?? "0.0.0.0",
    metricsPort: str(env, "ROSTER_METRICS_PORT") === undefined ? undefined : int(env, "ROSTER_METRICS_PORT", 0, 0, 65535),
    databaseUrl: databaseUrl(env),
    database: {
      connectTimeoutMs: int(env, "ROSTER_DB_CONNECT_TIMEOUT_MS", 5_000, 100, 600_000),
      statementTimeoutMs: int(env, "ROSTER_DB_STATEMENT_TIMEOUT_MS", 10_000, 100, 3_600_000),
      idleInTransactionTimeoutMs: int(env, "ROSTER_DB_IDLE_IN_TX_TIMEOUT_MS", 10_000, 100, 3_600_000),
      poolMax: int(env, "ROSTER_DB_POOL_MAX", DEFAULT_POOL_MAX, 1, 1000),
      startupTimeoutMs: int(env, "ROSTER_DB_STARTUP_TIMEOUT_SECONDS", 60, 0, 86_400) * 1000,
    },
    dataDir,
    embeddedRuntimeDir: str(env, "ROSTER_EMBEDDED_RUNTIME_DIR"),
    logLevel: logLevel(env),
    corsOrigins: corsOrigins(env),
    jwt: {
      issuer: str(env, "ROSTER_JWT_ISSUER"),
      audience: str(env, "ROSTER_JWT_AUDIENCE"),
      jwksUrl: str(env, "ROSTER_JWT_JWKS_URL"),
      jwksFile: str(env, "ROSTER_JWT_JWKS_FILE"),
      clockSkewSeconds: int(env, "ROSTER_JWT_CLOCK_SKEW_SECONDS", 30, 0, 600),
    },
    firstAdminPatFile: path.resolve(str(env, "ROSTER_FIRST_ADMIN_PAT_FILE") ?? path.join(dataDir, "admin.pat")),
    masterKeyBase64: str(env, "ROSTER_MASTER_KEY"),
    bcryptCost: int(env, "ROSTER_BCRYPT_COST", 12, 4, 31),
    bcryptMaxImportCost: int(env, "ROSTER_BCRYPT_MAX_IMPORT_COST", 14, 4, 20),
    maxRequestBytes: int(env, "ROSTER_MAX_REQUEST_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxConnections: int(env, "ROSTER_MAX_CONNECTIONS", 1024, 1, 1_000_000),
    shutdownGraceSeconds: int(env, "ROSTER_SHUTDOWN_GRACE_SECONDS", 25, 0, 3600),
    workers: workers(env),
    codes: {
      email: codeSettings(env, "ROSTER_EMAIL"),
      phone: codeSettings(env, "ROSTER_PHONE"),
      passwordReset: codeSettings(env, "ROSTER_PASSWORD_RESET"),
    },
    defaultUrlTemplates: {
      emailVerification: urlTemplate(
        env,
        "ROSTER_EMAIL_VERIFICATION_URL_TEMPLATE",
        `${publicUrl}/ui/verify-email?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}`,
      ),
      passwordReset: urlTemplate(
        env,
        "ROSTER_PASSWORD_RESET_URL_TEMPLATE",
        `${publicUrl}/ui/password-reset?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}`,
      ),
    },
    delivery: deliveryConfig(env),
    uiDir: path.resolve(str(env, "ROSTER_UI_DIR") ?? BUILT_UI_DIR),
    passwordPolicy: {
      minLength: int(env, "ROSTER_PASSWORD_MIN_LENGTH", 8, 1, 72),
      hasLowercase: bool(env, "ROSTER_PASSWORD_REQUIRE_LOWERCASE", true),
      hasUppercase: bool(env, "ROSTER_PASSWORD_REQUIRE_UPPERCASE", true),
      hasNumber: bool(env, "ROSTER_PASSWORD_REQUIRE_NUMBER", true),
      hasSymbol: bool(env, "ROSTER_PASSWORD_REQUIRE_SYMBOL", true),
    },
  };
}

function deliveryConfig(env: Env): DeliveryConfig {
  const switchValue = str(env, "ROSTER_DELIVERY") ?? "on";
  if (switchValue !== "on" && switchValue !== "off") {
    throw new ConfigError(`ROSTER_DELIVERY must be on or off, got "${switchValue}"`);
  }
  const smtpUrl = str(env, "ROSTER_SMTP_URL");
  let smtp: DeliveryConfig["smtp"];
  if (smtpUrl) {
    const parsed = parseUrl(smtpUrl);
    if (!parsed) throw new ConfigError("ROSTER_SMTP_URL must be a URL like smtp://mail.example.com:587 or smtps://mail.example.com:465");
    if ((parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") || !parsed.hostname) {
      throw new ConfigError(`ROSTER_SMTP_URL must start with smtp:// or smtps:// and name a host, got "${parsed.protocol}//…"`);
    }
    const from = str(env, "ROSTER_SMTP_FROM");
    if (!from) throw new ConfigError("ROSTER_SMTP_FROM is required when ROSTER_SMTP_URL is set (e.g. Roster <no-reply@example.com>)");
    const caFile = str(env, "ROSTER_SMTP_CA_FILE");
    smtp = {
      url: smtpUrl,
      user: str(env, "ROSTER_SMTP_USER"),
      password: env.ROSTER_SMTP_PASSWORD || undefined,
      from,
      insecure: bool(env, "ROSTER_SMTP_INSECURE", false),
      caFile: caFile ? path.resolve(caFile) : undefined,
      poolSize: int(env, "ROSTER_SMTP_POOL_SIZE", 5, 1, 100),
    };
  }
  const smsUrl = str(env, "ROSTER_SMS_WEBHOOK_URL");
  let sms: DeliveryConfig["sms"];
  if (smsUrl) {
    if (!/^https?:\/\/[^/]/i.test(smsUrl)) throw new ConfigError("ROSTER_SMS_WEBHOOK_URL must be an http:// or https:// URL");
    const secret = env.ROSTER_SMS_WEBHOOK_SECRET ?? "";
    if (secret.length < 16) throw new ConfigError("ROSTER_SMS_WEBHOOK_SECRET must be set (at least 16 characters) when ROSTER_SMS_WEBHOOK_URL is set");
    sms = { url: smsUrl, secret };
  }
  const templatesDir = str(env, "ROSTER_TEMPLATES_DIR");
  const sendTimeoutSeconds = int(env, "ROSTER_DELIVERY_SEND_TIMEOUT_SECONDS", 30, 1, 600);
  const leaseSeconds = int(env, "ROSTER_DELIVERY_LEASE_SECONDS", 120, 2, 3600);
  if (leaseSeconds <= sendTimeoutSeconds) {
    throw new ConfigError(
      `ROSTER_DELIVERY_LEASE_SECONDS (${leaseSeconds}) must be longer than ROSTER_DELIVERY_SEND_TIMEOUT_SECONDS (${sendTimeoutSeconds})`,
    );
  }
  const backoffBaseMs = int(env, "ROSTER_DELIVERY_BACKOFF_BASE_MS", 10_000, 10, 3_600_000);
  return {
    enabled: switchValue === "on",
    smtp,
    sms,
    templatesDir: templatesDir ? path.resolve(templatesDir) : undefined,
    concurrency: int(env, "ROSTER_DELIVERY_CONCURRENCY", 16, 1, 1000),
    leaseSeconds,
    sendTimeoutSeconds,
    pollSeconds: int(env, "ROSTER_DELIVERY_POLL_SECONDS", 10, 1, 3600),
    maxAttempts: int(env, "ROSTER_DELIVERY_MAX_ATTEMPTS", 8, 1, 100),
    backoffBaseMs,
    backoffMaxMs: Math.max(backoffBaseMs, int(env, "ROSTER_DELIVERY_BACKOFF_MAX_MS", 3_600_000, 10, 86_400_000)),
  };
}
