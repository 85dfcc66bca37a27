/**
 * What the domain asks of persistence: the records it reads and writes and the operations on
 * them, split per aggregate. The domain owns these types; `src/store/kysely-store.ts`
 * (PostgreSQL) and `src/store/memory-store.ts` (in memory, for fast command tests) implement
 * them. Every command runs inside one `transaction`.
 */
import type { UserListQuery, UserPage } from "./users/user-filter.js";
import type { OrgListQuery, OrgPage } from "./orgs/org-filter.js";

export type UserState = "active" | "inactive" | "locked" | "initial" | "deleted";
export type UserType = "human" | "machine";
export type Gender = 0 | 1 | 2 | 3;

/** Current state of one user (a row of `users`). */
export interface UserRecord {
  id: string;
  orgId: string;
  type: UserType;
  state: UserState;
  username: string;
  // human profile
  givenName: string;
  familyName: string;
  nickName: string;
  displayName: string;
  preferredLanguage: string;
  gender: Gender;
  // contact
  email: string;
  emailVerified: boolean;
  phone: string; // E.164 or ""
  phoneVerified: boolean;
  // password
  passwordHash: string | null;
  passwordChangeRequired: boolean;
  passwordChangedAt: Date | null;
  // machine
  machineName: string;
  machineDescription: string;
  // bookkeeping
  sequence: number; // number of events recorded for this user
  createdAt: Date;
  changedAt: Date; // time of the latest event
}

/** What an event stream belongs to; a user and an organization may share an id. */
export type AggregateType = "user" | "org";

/** One event to append; `sequence` is the aggregate's sequence after this event. */
export interface NewEvent {
  aggregateType: AggregateType;
  aggregateId: string; // the affected user's (or organization's) id
  sequence: number;
  type: string; // e.g. "user.human.profile.changed"
  payload: Record<string, unknown>; // never secrets
  actorId: string; // acting user's id ("" for the system)
  orgId: string; // resource owner
  createdAt: Date;
}

export interface EventRecord extends NewEvent {
  position: string; // global position in the log (bigint as string)
}

export type CodePurpose = "email" | "phone" | "password_reset";
export type CodeDelivery = "sent" | "returned";

/** A verification code: stored only as a keyed hash. */
export interface CodeRecord {
  userId: string;
  purpose: CodePurpose;
  hash: Buffer; // HMAC-SHA-256 (codes.md §5)
  createdAt: Date;
  expiresAt: Date;
  failedAttempts: number;
  delivery: CodeDelivery;
  urlTemplate: string | null;
}

export type NotificationChannel = "email" | "sms";

/** A pending notification; its secret part is encrypted (AES-256-GCM) by the caller. */
export interface NewNotification {
  userId: string;
  channel: NotificationChannel;
  recipient: string;
  purpose: CodePurpose;
  encryptedPayload: Buffer; // contains code and rendered link
  createdAt: Date;
}

export interface OrgRecord {
  id: string;
  name: string;
  createdAt: Date;
}

/** A role membership. `scope` is "instance" or an organization id. */
export interface MembershipRecord {
  userId: string;
  scope: string;
  roles: string[];
}

export interface TokenRecord {
  id: string;
  userId: string;
  hash: Buffer; // SHA-256 of the token
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** What authentication needs of a user: its organization, state and role memberships. */
export interface PrincipalUser {
  id: string;
  orgId: string;
  state: UserState;
  memberships: MembershipRecord[];
}

/** A personal access token with the user it belongs to (undefined when that row is gone). */
export interface TokenPrincipal {
  token: Pick<TokenRecord, "id" | "userId" | "expiresAt" | "revokedAt">;
  user: PrincipalUser | undefined;
}

/**
 * One user's change written without a transaction of its own (the fast path of the command
 * runner): the new state, applied only if the stored sequence is still `before.sequence`, and the
 * events, all in one statement.
 */
export interface UserChange {
  /** The state the change was planned on (its sequence is the precondition). */
  before: UserRecord;
  /** The new state; its sequence is `before.sequence + events.length`. */
  after: UserRecord;
  events: NewEvent[];
  /** The user's pending codes of these purposes are deleted with the change. */
  discardCodes: CodePurpose[];
  /** The change takes a right away from the user (e.g. it is no longer active): tell every process. */
  principalChanged: boolean;
}

/** Raised by the store when a username (case-folded) is already taken by a live user. */
export class UsernameConflict extends Error {
  constructor() {
    super("username taken");
    this.name = "UsernameConflict";
  }
}

/** Raised by the store when a new user's id is held by a live user (e.g. one inserted concurrently). */
export class UserIdConflict extends Error {
  constructor() {
    super("user id already exists");
    this.name = "UserIdConflict";
  }
}

/** Raised by the store when an organization name (case-folded) or id is already taken. */
export class OrgConflict extends Error {
  constructor() {
    super("organization exists");
    this.name = "OrgConflict";
  }
}

/** Users: the current state of each user, its metadata, and username uniqueness. */
export interface UserStore {
  /** Loads a user and locks its row until the transaction ends (SELECT … FOR UPDATE). */
  lockUser(id: string): Promise<UserRecord | undefined>;
  getUser(id: string): Promise<UserRecord | undefined>;
  /** True when a live user other than `exceptUserId` holds this username, compared case-folded. */
  usernameTaken(username: string, exceptUserId?: string): Promise<boolean>;
  /** Inserts a new user, or replaces a deleted user's row with the same id. Throws UserIdConflict, UsernameConflict. */
  insertUser(user: UserRecord): Promise<void>;
  /**
   * Writes the whole current state of an existing user; one that is not active counts as a
   * changed principal (`principalChanged`). Throws UsernameConflict.
   */
  updateUser(user: UserRecord): Promise<void>;
  /** Stores a metadata entry of the user under its key, replacing an earlier value. */
  setMetadata(userId: string, key: string, value: Buffer): Promise<void>;
  /** The user's entries ordered by key, in code point order. */
  getMetadata(userId: string): Promise<{ key: string; value: Buffer }[]>;
  /** Removes everything a deleted user leaves behind: metadata, codes, pending notifications, memberships, tokens. */
  purgeUserData(userId: string): Promise<void>;
  /**
   * ListUsers: the live users visible under `query.visibility` that match every filter, in the
   * query's order, one page, and how many there are in all. Must equal `selectUsers` of
   * src/domain/users/user-filter.ts over the stored users. Page and total come from one snapshot.
   */
  listUsers(query: UserListQuery): Promise<UserPage>;
}

/** The append-only event log. */
export interface EventStore {
  appendEvents(events: NewEvent[]): Promise<void>;
  /** The events of one stream, oldest first; by default a user's. */
  listEvents(aggregateId: string, aggregateType?: AggregateType): Promise<EventRecord[]>;
  /** Position of the newest event in the whole log (bigint as string; "0" when empty). */
  latestEventPosition(): Promise<string>;
}

/** Verification codes (stored hashed) and the notifications that deliver them. */
export interface CodeStore {
  getCode(userId: string, purpose: CodePurpose): Promise<CodeRecord | undefined>;
  /** Creates or replaces the user's code of that purpose. */
  putCode(code: CodeRecord): Promise<void>;
  deleteCode(userId: string, purpose: CodePurpose): Promise<void>;
  setCodeFailedAttempts(userId: string, purpose: CodePurpose, failedAttempts: number): Promise<void>;
  insertNotification(n: NewNotification): Promise<void>;
}

/** Organizations and role memberships. */
export interface OrgStore {
  getOrg(id: string): Promise<OrgRecord | undefined>;
  /** Throws OrgConflict when the id or the case-folded name is taken. */
  insertOrg(org: OrgRecord): Promise<void>;
  /** The user's memberships ordered by scope, in code point order. */
  getMemberships(userId: string): Promise<MembershipRecord[]>;
  /** Adds roles to the user's membership on the scope (creating it). */
  addMembership(m: MembershipRecord): Promise<void>;
  deleteMemberships(userId: string): Promise<void>;
  /** ListOrganizations, likewise; must equal `selectOrgs` of src/domain/orgs/org-filter.ts. */
  listOrgs(query: OrgListQuery): Promise<OrgPage>;
}

/** Personal access tokens (stored as hashes). */
export interface TokenStore {
  findTokenByHash(hash: Buffer): Promise<TokenRecord | undefined>;
  insertToken(t: TokenRecord): Promise<void>;
  /** The user's tokens, oldest first (hashes included; callers never show them). */
  listTokens(userId: string): Promise<TokenRecord[]>;
  /** Marks the token revoked at `at` unless it already is; false when no such token exists. */
  revokeToken(id: string, at: Date): Promise<boolean>;
}

/** What authentication reads, and the signal that it changed. */
export interface PrincipalStore {
  /** A token and its user's principal data, in one statement. */
  findTokenPrincipal(hash: Buffer): Promise<TokenPrincipal | undefined>;
  /** A user's principal data, in one statement. */
  getPrincipalUser(userId: string): Promise<PrincipalUser | undefined>;
  /**
   * Records that what authentication knows of the user changed (state, memberships, tokens):
   * after commit every process drops what it cached about it.
   */
  principalChanged(userId: string): Promise<void>;
}

/** Small key/value table for instance-wide settings (e.g. "default_org_id"). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | undefined>;
  /** Inserts the value unless the key exists; returns the value stored afterwards. */
  putSettingIfAbsent(key: string, value: string): Promise<string>;
}

/** Operations available inside one transaction. */
export interface StoreTx extends UserStore, EventStore, CodeStore, OrgStore, TokenStore, PrincipalStore, SettingsStore {}

/** What may be read outside a transaction: each call is its own statement, nothing is locked. */
export type StoreReader = Pick<
  StoreTx,
  | "getUser"
  | "usernameTaken"
  | "getMetadata"
  | "getCode"
  | "getOrg"
  | "getMemberships"
  | "findTokenByHash"
  | "getSetting"
  | "listEvents"
  | "latestEventPosition"
  | "listUsers"
  | "listOrgs"
  | "findTokenPrincipal"
  | "getPrincipalUser"
>;

/** `undefined` = anything may have changed (e.g. the change feed was interrupted). */
export type PrincipalChangeListener = (userId: string | undefined) => void;

export interface Store {
  /**
   * Runs `fn` in one transaction (READ COMMITTED + row locks); commits if it returns, rolls back if
   * it throws. An operation that fails aborts the transaction: later operations in it fail, and it
   * rolls back with an error even if `fn` caught the failure. The handle is dead once it ended.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Non-transactional reads (each its own statement); writes and locks need `transaction`. */
  read: StoreReader;
  /**
   * Writes a planned change of one existing user in one statement if its sequence is still
   * `change.before.sequence` and, when `before` is a record this store returned or wrote, its
   * row was not written since; false (nothing written) when it changed meanwhile or the user is
   * gone. Throws UsernameConflict.
   */
  applyUserChange(change: UserChange): Promise<boolean>;
  /**
   * Calls `listener` after every commit in this process that changed a principal (see
   * `principalChanged`), at once; changes made by other processes arrive through
   * `listenPrincipalChanges` of the PostgreSQL store. Returns the unsubscribe function.
   */
  onPrincipalChange(listener: PrincipalChangeListener): () => void;
  /** Runs fn in one transaction holding a transaction-level advisory lock (first-start bootstrap). */
  withAdvisoryLock<T>(key: number, fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
