import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import { newId } from "../ids.js";
import { INSTANCE_SCOPE } from "../permissions.js";
import { OrgConflict, type NewEvent } from "../store.js";
import type { Details } from "../users/change-set.js";
import type { ReturnedCodes } from "../users/contact-steps.js";
import { insertHuman, prepareHuman, type AddHumanUserInput, type PreparedHuman } from "../users/add-human.js";

export type OrgAdminInput =
  | { kind: "existing"; userId: string; roles: string[] }
  | { kind: "human"; human: AddHumanUserInput; roles: string[] };

export interface AddOrganizationInput {
  name: string;
  orgId?: string;
  admins: OrgAdminInput[];
}

export interface AddOrganizationResult {
  organizationId: string;
  details: Details;
  createdAdmins: ({ userId: string } & ReturnedCodes)[];
}

const DEFAULT_ADMIN_ROLES = ["ORG_OWNER"];

/**
 * Ids an organization cannot have: `instance` is the scope of instance-wide memberships, so the
 * admins of an organization of that id would hold their roles on the whole instance.
 */
const RESERVED_ORG_IDS: ReadonlySet<string> = new Set([INSTANCE_SCOPE]);

/**
 * AddOrganization (contract.md §10): the organization, its new admins and all memberships in one
 * transaction; any failure writes nothing.
 */
export async function addOrganization(deps: DomainDeps, principal: Principal, input: AddOrganizationInput): Promise<AddOrganizationResult> {
  if (!deps.permissions.holdsOnInstance(principal, "org.create")) throw Errors.permissionDenied();
  if (input.orgId !== undefined && RESERVED_ORG_IDS.has(input.orgId)) throw Errors.orgIdReserved();
  for (const admin of input.admins) {
    for (const role of admin.roles) if (!deps.permissions.knownRole(role)) throw Errors.roleUnknown();
  }
  const prepared = new Map<OrgAdminInput, PreparedHuman>();
  for (const admin of input.admins) {
    if (admin.kind === "human") prepared.set(admin, await prepareHuman(deps, admin.human));
  }

  const now = deps.now();
  const orgId = input.orgId ?? newId();
  return deps.store.transaction(async (tx) => {
    try {
      await tx.insertOrg({ id: orgId, name: input.name, createdAt: now });
    } catch (e) {
      if (e instanceof OrgConflict) throw Errors.orgAlreadyExists();
      throw e;
    }
    const events: NewEvent[] = [];
    const orgEvent = (type: string, payload: Record<string, unknown>) =>
      events.push({ aggregateType: "org", aggregateId: orgId, sequence: events.length + 1, type, payload: { orgId, ...payload }, actorId: principal.userId, orgId, createdAt: now });
    orgEvent("org.added", { name: input.name });

    const createdAdmins: AddOrganizationResult["createdAdmins"] = [];
    for (const admin of input.admins) {
      let userId: string;
      if (admin.kind === "existing") {
        const user = await tx.getUser(admin.userId);
        if (!user || user.state === "deleted") throw Errors.userNotFound();
        userId = user.id;
      } else {
        const { user, codes } = await insertHuman(deps, tx, principal.userId, orgId, prepared.get(admin)!, now);
        userId = user.id;
        createdAdmins.push({ userId, ...codes });
      }
      const roles = admin.roles.length > 0 ? admin.roles : DEFAULT_ADMIN_ROLES;
      await tx.addMembership({ userId, scope: orgId, roles });
      orgEvent("org.member.added", { userId, roles });
    }
    await tx.appendEvents(events);
    return {
      organizationId: orgId,
      details: { sequence: events.length, changeDate: now, resourceOwner: orgId },
      createdAdmins,
    };
  });
}
