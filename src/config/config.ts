/** Typed configuration, read once from the environment (see README "Configuration"). */
export interface Config {
  port: number;
  host: string;
  /** Serve `/metrics` on this port (0: any free one) instead of the API port; undefined: on the API port. */
  metricsPort?: number;
  /** postgres://… ; undefined → embedded PostgreSQL in `<dataDir>/pg`. */
  databaseUrl: string | undefined;
  /** Connect (and pool wait), statement and idle-in-transaction timeouts in milliseconds; pool size. */
  database: {
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
    /** Connections in this process's pool at most (ROSTER_DB_POOL_MAX; loadConfig always sets it). */
    poolMax?: number;
    /** How long start-up keeps retrying a database that cannot be reached yet. */
    startupTimeoutMs: number;
  };
  dataDir: string;
  /**
   * Running as root with the embedded database: where the binaries' copy and a cluster the
   * postgres OS user could not reach in dataDir are kept (default /var/lib/roster).
   */
  embeddedRuntimeDir?: string;
  logLevel: string;
  corsOrigins: string[]; // empty → no CORS, no origin check
  jwt: {
    issuer: string | undefined;
    audience: string | undefined;
    jwksUrl: string | undefined;
    jwksFile: string | undefined;
    clockSkewSeconds: number;
  };
  firstAdminPatFile: string;
  /** 32 bytes, from ROSTER_MASTER_KEY (base64) or `<dataDir>/master.key`. Resolved at start. */
  masterKeyBase64: string | undefined;
  bcryptCost: number;
  /** Highest bcrypt cost accepted in an imported hash, and verified in a stored one. */
  bcryptMaxImportCost: number;
  maxRequestBytes: number;
  /** Open client connections at most (further ones are closed when accepted). */
  maxConnections: number;
  /** Server processes on the one port (ROSTER_WORKERS; 1 = this process serves). loadConfig always sets it. */
  workers?: number;
  /** On SIGTERM/SIGINT: how long requests in flight may take before their connections are cut. */
  shutdownGraceSeconds: number;
  codes: {
    email: { length: number; expirySeconds: number };
    phone: { length: number; expirySeconds: number };
    passwordReset: { length: number; expirySeconds: number };
  };
  defaultUrlTemplates: {
    emailVerification: string;
    passwordReset: string;
  };
  /**
   * Built console and self-service pages (`npm run build:ui`), served under /ui/. loadConfig
   * always sets it; a hand-made config without it serves no pages (/ui/ answers 404).
   */
  uiDir?: string;
  /**
   * Delivery of codes from the outbox (README "Delivering codes"). loadConfig always sets it; a
   * hand-made config without it runs no delivery worker.
   */
  delivery?: DeliveryConfig;
  passwordPolicy: {
    minLength: number;
    hasLowercase: boolean;
    hasUppercase: boolean;
    hasNumber: boolean;
    hasSymbol: boolean;
  };
}

export interface DeliveryConfig {
  /** false (ROSTER_DELIVERY=off): this process sends nothing; notifications wait for another one. */
  enabled: boolean;
  /** undefined: email notifications stay pending. */
  smtp:
    | {
        url: string;
        user: string | undefined;
        password: string | undefined;
        from: string;
        insecure: boolean;
        caFile: string | undefined;
        poolSize: number;
      }
    | undefined;
  /** undefined: SMS notifications stay pending. */
  sms: { url: string; secret: string } | undefined;
  /** Files here override the built-in templates of the same name. */
  templatesDir: string | undefined;
  concurrency: number;
  leaseSeconds: number;
  sendTimeoutSeconds: number;
  pollSeconds: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}
