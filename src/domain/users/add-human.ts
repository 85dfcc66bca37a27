import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { DomainError, Errors, FieldViolation } from "../errors.js";
import { newId } from "../ids.js";
import { UserIdConflict, UsernameConflict, type StoreTx, type UserRecord } from "../store.js";
import { ChangeSet, detailsOf, type Details } from "./change-set.js";
import { verifyOrIssueEmailCode, verifyOrIssuePhoneCode, type ReturnedCodes } from "./contact-steps.js";
import type { EmailInput, NewPassword, PhoneInput, ProfileInput } from "./inputs.js";
import { checkPasswordLength, checkPasswordPolicy } from "./password-policy.js";
import { assertSupportedHash } from "./password-hash.js";
import { checkPlainAddress } from "./email.js";
import { normalizePhone } from "./phone.js";
import { parseUrlTemplate } from "./url-template.js";
import { canonicalLanguage } from "./language.js";
import { normalizeGender } from "./profile-step.js";
import { assertUsernameFree, trimUsername } from "./username.js";

export interface AddHumanUserInput {
  userId?: string;
  username?: string;
  organization?: { orgId?: string; orgDomain?: string };
  /** `x-zitadel-orgid` header, empty or absent when not sent. */
  orgIdHeader?: string | null;
  profile: ProfileInput;
  email: EmailInput;
  phone?: PhoneInput;
  metadata: { key: string; value: Uint8Array }[];
  password?: NewPassword;
  idpLinkCount: number;
  totpSecret?: string;
}

/** What decides the new user's organization. */
export type NewUserOrgInput = Pick<AddHumanUserInput, "organization" | "orgIdHeader">;

export interface AddHumanUserResult extends ReturnedCodes {
  userId: string;
  details: Details;
}

/** A validated new human: normalised input and the slow password hash computed up front. */
export interface PreparedHuman {
  input: AddHumanUserInput;
  givenName: string;
  familyName: string;
  /** The requested username trimmed, or the email address. */
  username: string;
  phone: string;
  passwordHash: string | null;
  /** The complexity policy's verdict on a plain password, reported after the id and username checks. */
  policyViolation?: DomainError;
}

/**
 * Bounds of `metadata`, Roster's own: ZITADEL bounds each entry (key 1–200 characters, value
 * 1–500,000 bytes, checked by the field rules) but not their number. Each entry is one event and one row written with the
 * user; without a bound one request could write thousands.
 */
export const MAX_METADATA_ENTRIES = 100;
export const MAX_METADATA_VALUE_BYTES_TOTAL = 500_000;

function checkMetadataBounds(metadata: AddHumanUserInput["metadata"]): void {
  if (metadata.length > MAX_METADATA_ENTRIES) {
    throw new FieldViolation(`invalid AddHumanUserRequest.Metadata: value must contain no more than ${MAX_METADATA_ENTRIES} item(s)`);
  }
  const total = metadata.reduce((sum, m) => sum + m.value.length, 0);
  if (total > MAX_METADATA_VALUE_BYTES_TOTAL) {
    throw new FieldViolation(`invalid AddHumanUserRequest.Metadata: values must not exceed ${MAX_METADATA_VALUE_BYTES_TOTAL} bytes in total`);
  }
}

/** Contract.md §9.1 step 2: checks that need nothing stored; then the password hash (bcrypt). */
export async function prepareHuman(deps: DomainDeps, input: AddHumanUserInput): Promise<PreparedHuman> {
  checkMetadataBounds(input.metadata);
  const v = input.email.verification;
  if (v.kind === "send" && v.urlTemplate !== undefined) parseUrlTemplate(v.urlTemplate);
  checkPlainAddress(input.email.email);
  const phone = input.phone && input.phone.phone !== "" ? normalizePhone(input.phone.phone) : "";
  const pw = input.password;
  if (pw?.kind === "hashed") assertSupportedHash(pw.hash);
  if (pw?.kind === "plain") checkPasswordLength(pw.password);
  const givenName = input.profile.givenName.trim();
  const familyName = input.profile.familyName.trim();
  if (givenName === "") throw Errors.givenNameEmpty();
  if (familyName === "") throw Errors.familyNameEmpty();
  let username = input.email.email;
  if (input.username !== undefined) {
    const trimmed = trimUsername(input.username);
    if (trimmed === undefined) throw Errors.usernameEmpty();
    username = trimmed;
  }
  if (input.totpSecret !== undefined) throw Errors.unimplemented();
  let passwordHash: string | null = null;
  let policyViolation: DomainError | undefined;
  if (pw?.kind === "plain") {
    policyViolation = policyViolationOf(deps, pw.password);
    if (!policyViolation) passwordHash = await deps.hasher.hash(pw.password);
  } else if (pw?.kind === "hashed") {
    passwordHash = pw.hash;
  }
  return { input, givenName, familyName, username, phone, passwordHash, policyViolation };
}

function policyViolationOf(deps: DomainDeps, password: string): DomainError | undefined {
  try {
    checkPasswordPolicy(password, deps.passwordPolicy);
    return undefined;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
}

/**
 * The organization a new user belongs to (contract.md §9.1 step 1, auth.md §4/§5): it must
 * exist and the caller must hold `user.write` on it.
 */
export async function resolveNewUserOrg(deps: DomainDeps, tx: Pick<StoreTx, "getOrg">, principal: Principal, input: NewUserOrgInput): Promise<string> {
  let orgId: string;
  if (input.organization?.orgId !== undefined) orgId = input.organization.orgId;
  else if (input.organization?.orgDomain !== undefined) throw Errors.orgNotExisting(); // no org domains yet
  else if (input.orgIdHeader) orgId = input.orgIdHeader;
  else orgId = principal.orgId;
  if (!(await tx.getOrg(orgId))) throw Errors.orgNotExisting();
  if (!deps.permissions.holds(principal, "user.write", orgId)) {
    if (!deps.permissions.hasAnyMembershipFor(principal, orgId)) throw Errors.membershipNotFound();
    throw Errors.noMatchingPermissions();
  }
  return orgId;
}

/**
 * Plans and writes a new human user in `tx` (contract.md §9.1 steps 3–10). Used by AddHumanUser
 * and by AddOrganization for new admins.
 */
export async function insertHuman(
  deps: DomainDeps,
  tx: StoreTx,
  actorId: string,
  orgId: string,
  prepared: PreparedHuman,
  now: Date,
): Promise<{ user: UserRecord; codes: ReturnedCodes }> {
  const { input } = prepared;
  const id = input.userId ?? newId();
  const previous = await tx.lockUser(id);
  if (previous && previous.state !== "deleted") throw Errors.userIdTaken();
  const username = prepared.username;
  await assertUsernameFree(tx, username);
  // steps 8 and 9 of contract.md §9.1: reported only after the id and the username
  if (prepared.policyViolation) throw prepared.policyViolation;
  if (input.idpLinkCount > 0) throw Errors.idpConfigNotExisting();

  const p = input.profile;
  const user: UserRecord = {
    id,
    orgId,
    type: "human",
    state: "active",
    username,
    givenName: prepared.givenName,
    familyName: prepared.familyName,
    nickName: p.nickName ?? "",
    displayName: p.displayName ? p.displayName : `${prepared.givenName} ${prepared.familyName}`,
    preferredLanguage: canonicalLanguage(p.preferredLanguage),
    gender: normalizeGender(p.gender),
    email: input.email.email,
    emailVerified: false,
    phone: prepared.phone,
    phoneVerified: false,
    passwordHash: prepared.passwordHash,
    passwordChangeRequired: input.password?.changeRequired ?? false,
    passwordChangedAt: prepared.passwordHash ? now : null,
    machineName: "",
    machineDescription: "",
    sequence: previous?.sequence ?? 0,
    createdAt: now,
    changedAt: now,
  };
  const changes = new ChangeSet(user, actorId, now);
  // the id of a deleted user: nothing of the old user may come back with the new one (DeleteUser
  // already removed it; this also covers a row that became `deleted` some other way, e.g. imported)
  if (previous) changes.purgeUserData();
  const codes: ReturnedCodes = {};
  changes.add("user.human.added", {
    username,
    givenName: user.givenName,
    familyName: user.familyName,
    nickName: user.nickName,
    displayName: user.displayName,
    preferredLanguage: user.preferredLanguage,
    gender: user.gender,
    email: user.email,
    phone: user.phone,
    hasPassword: user.passwordHash !== null,
    passwordChangeRequired: user.passwordChangeRequired,
  });

  verifyOrIssueEmailCode(deps, user, input.email.verification, changes, codes);
  if (user.phone !== "") verifyOrIssuePhoneCode(deps, user, input.phone!.verification, changes, codes);

  // one event per entry, as ZITADEL writes them; the store keeps the last value of a key
  const metadata = new Map<string, Uint8Array>();
  for (const { key, value } of input.metadata) {
    metadata.set(key, value);
    changes.add("user.metadata.set", { key, value: Buffer.from(value).toString("base64") });
  }

  try {
    const saved = await changes.commit(tx, user, "insert");
    for (const [key, value] of metadata) await tx.setMetadata(id, key, Buffer.from(value));
    return { user: saved, codes };
  } catch (e) {
    if (e instanceof UsernameConflict) throw Errors.usernameTaken();
    if (e instanceof UserIdConflict) throw Errors.userIdTaken();
    throw e;
  }
}

/**
 * AddHumanUser (contract.md §9.1). The organization and the caller's permission on it are checked
 * before the field rules, by the service's authorization step (`resolveNewUserOrg`); they are
 * checked again here, inside the transaction that creates the user.
 */
export async function addHumanUser(deps: DomainDeps, principal: Principal, input: AddHumanUserInput): Promise<AddHumanUserResult> {
  const prepared = await prepareHuman(deps, input);
  const now = deps.now();
  return deps.store.transaction(async (tx) => {
    const orgId = await resolveNewUserOrg(deps, tx, principal, input);
    const { user, codes } = await insertHuman(deps, tx, principal.userId, orgId, prepared, now);
    return { userId: user.id, details: detailsOf(user), ...codes };
  });
}
