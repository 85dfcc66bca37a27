/** Kysely table types: the database as the store sees it (snake_case, as pg returns it). */
import type { ColumnType, Generated } from "kysely";

/** int8 comes back from pg as a string; we write numbers. */
type Int8 = ColumnType<string, number | string, number | string>;
type Timestamp = ColumnType<Date, Date, Date>;

export interface UsersTable {
  id: string;
  org_id: string;
  type: string;
  state: string;
  username: string;
  username_folded: string;
  given_name: string;
  family_name: string;
  nick_name: string;
  display_name: string;
  /** The `*_folded` copies are `foldCase` of their column, written by Roster (migration 0003). */
  given_name_folded: string;
  family_name_folded: string;
  nick_name_folded: string;
  display_name_folded: string;
  email_folded: string;
  preferred_language: string;
  gender: number;
  email: string;
  email_verified: boolean;
  phone: string;
  phone_verified: boolean;
  password_hash: string | null;
  password_change_required: boolean;
  password_changed_at: Date | null;
  machine_name: string;
  machine_description: string;
  sequence: Int8;
  created_at: Timestamp;
  changed_at: Timestamp;
}

export interface EventsTable {
  position: ColumnType<string, never, never>;
  aggregate_type: string;
  aggregate_id: string;
  sequence: Int8;
  type: string;
  payload: ColumnType<unknown, string, string>;
  actor_id: string;
  org_id: string;
  created_at: Timestamp;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  name_folded: string;
  created_at: Timestamp;
}

export interface MembershipsTable {
  user_id: string;
  scope: string;
  roles: string[];
}

export interface TokensTable {
  id: string;
  user_id: string;
  hash: Buffer;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_at: Timestamp;
}

export interface CodesTable {
  user_id: string;
  purpose: string;
  hash: Buffer;
  created_at: Timestamp;
  expires_at: Timestamp;
  failed_attempts: number;
  delivery: string;
  url_template: string | null;
}

export interface NotificationsTable {
  id: Generated<Int8>;
  user_id: string;
  channel: string;
  recipient: string;
  purpose: string;
  /** Removed (NULL) once the notification is sent, failed or discarded (migration 0004). */
  encrypted_payload: Buffer | null;
  created_at: Timestamp;
  /** pending | sending | sent | failed | discarded */
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  last_error: string | null;
  lease_until: Date | null;
  claimed_by: string | null;
  sent_at: Date | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  users: UsersTable;
  events: EventsTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  tokens: TokensTable;
  codes: CodesTable;
  notifications: NotificationsTable;
  settings: SettingsTable;
  user_metadata: UserMetadataTable;
}

export interface UserMetadataTable {
  user_id: string;
  key: string;
  value: Buffer;
}
