import type { Principal } from "./principal.js";

/** Permissions checked by the user API (auth.md §5) and by organization tooling. */
export type Permission = "user.read" | "user.write" | "user.delete" | "org.read" | "org.create";

export const PERMISSIONS: readonly Permission[] = ["user.read", "user.write", "user.delete", "org.read", "org.create"];

/** Membership scope that stands for the whole instance; any other scope is an organization id. */
export const INSTANCE_SCOPE = "instance";

/**
 * What a role grants, and on which kind of membership scope it is honoured: an "instance" role
 * only on an instance membership (it then applies to every organization), an "organization" role
 * only on a membership naming one organization. A role found on the wrong kind of scope grants
 * nothing, so a stray `ORG_OWNER` row on the instance cannot turn into instance-wide power.
 */
export interface RoleGrant {
  scope: "instance" | "organization";
  permissions: readonly Permission[];
}

export type RolePermissionTable = Readonly<Record<string, RoleGrant>>;

export const DEFAULT_ROLE_PERMISSIONS: RolePermissionTable = Object.freeze({
  IAM_OWNER: { scope: "instance", permissions: ["user.read", "user.write", "user.delete", "org.read", "org.create"] },
  ORG_OWNER: { scope: "organization", permissions: ["user.read", "user.write", "user.delete", "org.read"] },
  ORG_USER_MANAGER: { scope: "organization", permissions: ["user.read", "user.write", "user.delete", "org.read"] },
});

export interface PermissionChecker {
  /** True when the principal holds `permission` on organization `orgId` (auth.md §5). */
  holds(principal: Principal, permission: Permission, orgId: string): boolean;
  /** True when an instance membership grants `permission` (e.g. `org.create`). */
  holdsOnInstance(principal: Principal, permission: Permission): boolean;
  /**
   * The organizations on which an organization membership grants `permission` (sorted, without
   * duplicates). Instance memberships are not expanded: ask `holdsOnInstance` for those.
   */
  organizationsWith(principal: Principal, permission: Permission): string[];
  /** True when the principal has any membership on the instance or on `orgId`, whatever its roles. */
  hasAnyMembershipFor(principal: Principal, orgId: string): boolean;
  /** True when the table defines `role`. */
  knownRole(role: string): boolean;
}

export function createPermissionChecker(table: RolePermissionTable = DEFAULT_ROLE_PERMISSIONS): PermissionChecker {
  const grants = new Map<string, RoleGrant>(Object.entries(table));

  const grantsOn = (role: string, scope: string, permission: Permission): boolean => {
    const grant = grants.get(role);
    if (!grant || !grant.permissions.includes(permission)) return false;
    return grant.scope === "instance" ? scope === INSTANCE_SCOPE : scope !== INSTANCE_SCOPE;
  };

  const holdsOnInstance = (principal: Principal, permission: Permission): boolean =>
    principal.memberships.some(
      (m) => m.scope === INSTANCE_SCOPE && m.roles.some((role) => grantsOn(role, m.scope, permission)),
    );

  return {
    holds(principal, permission, orgId) {
      return principal.memberships.some(
        (m) =>
          (m.scope === INSTANCE_SCOPE || m.scope === orgId) &&
          m.roles.some((role) => grantsOn(role, m.scope, permission)),
      );
    },
    holdsOnInstance,
    organizationsWith(principal, permission) {
      const orgs = principal.memberships
        .filter((m) => m.scope !== INSTANCE_SCOPE && m.roles.some((role) => grantsOn(role, m.scope, permission)))
        .map((m) => m.scope);
      return [...new Set(orgs)].sort();
    },
    hasAnyMembershipFor(principal, orgId) {
      return principal.memberships.some((m) => m.scope === INSTANCE_SCOPE || m.scope === orgId);
    },
    knownRole(role) {
      return grants.has(role);
    },
  };
}

/**
 * Validates a role table read from configuration (e.g. a JSON document), so that roles can be
 * added without code changes. Throws an Error naming the first problem.
 */
export function parseRolePermissionTable(input: unknown): RolePermissionTable {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new Error("role permission table must be an object of role → { scope, permissions }");
  }
  const table: Record<string, RoleGrant> = {};
  for (const [role, value] of Object.entries(input)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(role)) throw new Error(`role name ${JSON.stringify(role)} is not UPPER_SNAKE_CASE`);
    const grant = value as { scope?: unknown; permissions?: unknown } | null;
    if (typeof grant !== "object" || grant === null) throw new Error(`role ${role}: expected an object`);
    if (grant.scope !== "instance" && grant.scope !== "organization") {
      throw new Error(`role ${role}: scope must be "instance" or "organization"`);
    }
    if (!Array.isArray(grant.permissions)) throw new Error(`role ${role}: permissions must be an array`);
    for (const p of grant.permissions) {
      if (!PERMISSIONS.includes(p as Permission)) throw new Error(`role ${role}: unknown permission ${JSON.stringify(p)}`);
    }
    table[role] = Object.freeze({ scope: grant.scope, permissions: Object.freeze([...grant.permissions]) as Permission[] });
  }
  return Object.freeze(table);
}
