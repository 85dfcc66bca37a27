import { sql, type Kysely } from "kysely";

// Plain SQL in the common subset of PostgreSQL 15 and 18. Case-insensitive uniqueness uses
// stored folded columns, never collations, so both servers agree.
const statements = [
  sql`CREATE TABLE users (
    id text PRIMARY KEY,
    org_id text NOT NULL,
    type text NOT NULL,
    state text NOT NULL,
    username text NOT NULL,
    username_folded text NOT NULL,
    given_name text NOT NULL DEFAULT '',
    family_name text NOT NULL DEFAULT '',
    nick_name text NOT NULL DEFAULT '',
    display_name text NOT NULL DEFAULT '',
    preferred_language text NOT NULL DEFAULT '',
    gender integer NOT NULL DEFAULT 0,
    email text NOT NULL DEFAULT '',
    email_verified boolean NOT NULL DEFAULT false,
    phone text NOT NULL DEFAULT '',
    phone_verified boolean NOT NULL DEFAULT false,
    password_hash text,
    password_change_required boolean NOT NULL DEFAULT false,
    password_changed_at timestamptz,
    machine_name text NOT NULL DEFAULT '',
    machine_description text NOT NULL DEFAULT '',
    sequence bigint NOT NULL,
    created_at timestamptz NOT NULL,
    changed_at timestamptz NOT NULL
  )`,
  sql`CREATE UNIQUE INDEX users_username_folded_live ON users (username_folded) WHERE state <> 'deleted'`,
  sql`CREATE INDEX users_org_id ON users (org_id)`,

  sql`CREATE TABLE events (
    position bigserial NOT NULL UNIQUE,
    aggregate_id text NOT NULL,
    sequence bigint NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL,
    actor_id text NOT NULL,
    org_id text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (aggregate_id, sequence)
  )`,

  sql`CREATE TABLE organizations (
    id text PRIMARY KEY,
    name text NOT NULL,
    name_folded text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
  )`,

  sql`CREATE TABLE memberships (
    user_id text NOT NULL,
    scope text NOT NULL,
    roles text[] NOT NULL,
    PRIMARY KEY (user_id, scope)
  )`,

  sql`CREATE TABLE tokens (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    hash bytea NOT NULL UNIQUE,
    expires_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX tokens_user_id ON tokens (user_id)`,

  sql`CREATE TABLE codes (
    user_id text NOT NULL,
    purpose text NOT NULL,
    hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0,
    delivery text NOT NULL,
    url_template text,
    PRIMARY KEY (user_id, purpose)
  )`,

  sql`CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL,
    channel text NOT NULL,
    recipient text NOT NULL,
    purpose text NOT NULL,
    encrypted_payload bytea NOT NULL,
    created_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text
  )`,
  sql`CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending'`,

  sql`CREATE TABLE user_metadata (
    user_id text NOT NULL,
    key text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (user_id, key)
  )`,

  sql`CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL
  )`,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}
