import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  createPermissionChecker,
  DEFAULT_ROLE_PERMISSIONS,
  parseRolePermissionTable,
  type Permission,
} from "./permissions.js";
import type { Principal } from "./principal.js";
import type { MembershipRecord } from "./store.js";

const ORG_A = "100000000000000001";
const ORG_B = "100000000000000002";

function principal(memberships: Omit<MembershipRecord, "userId">[]): Principal {
  return { userId: "200000000000000001", orgId: ORG_A, memberships: memberships.map((m) => ({ userId: "200000000000000001", ...m })) };
}

const userPermissions: Permission[] = ["user.read", "user.write", "user.delete", "org.read"];

describe("createPermissionChecker with the default table", () => {
  const checker = createPermissionChecker();

  it("IAM_OWNER on the instance holds every user permission and org.read on every organization, and org.create", () => {
    const p = principal([{ scope: "instance", roles: ["IAM_OWNER"] }]);
    for (const perm of userPermissions) {
      assert.equal(checker.holds(p, perm, ORG_A), true, perm);
      assert.equal(checker.holds(p, perm, ORG_B), true, perm);
      assert.equal(checker.holdsOnInstance(p, perm), true, perm);
    }
    assert.equal(checker.holdsOnInstance(p, "org.create"), true);
  });

  for (const role of ["ORG_OWNER", "ORG_USER_MANAGER"]) {
    it(`${role} holds user permissions and org.read on its organization only`, () => {
      const p = principal([{ scope: ORG_B, roles: [role] }]);
      for (const perm of userPermissions) {
        assert.equal(checker.holds(p, perm, ORG_B), true, perm);
        assert.equal(checker.holds(p, perm, ORG_A), false, perm);
        assert.equal(checker.holdsOnInstance(p, perm), false, perm);
      }
      assert.equal(checker.holds(p, "org.create", ORG_B), false);
    });
  }

  it("an organization role on the instance scope grants nothing", () => {
    const p = principal([{ scope: "instance", roles: ["ORG_OWNER"] }]);
    assert.equal(checker.holds(p, "user.write", ORG_A), false);
    assert.equal(checker.holdsOnInstance(p, "user.write"), false);
  });

  it("an instance role on an organization scope grants nothing", () => {
    const p = principal([{ scope: ORG_A, roles: ["IAM_OWNER"] }]);
    assert.equal(checker.holds(p, "user.write", ORG_A), false);
    assert.equal(checker.holdsOnInstance(p, "org.create"), false);
  });

  it("unknown roles and no memberships grant nothing", () => {
    assert.equal(checker.holds(principal([{ scope: ORG_A, roles: ["PROJECT_OWNER"] }]), "user.read", ORG_A), false);
    assert.equal(checker.holds(principal([]), "user.read", ORG_A), false);
  });

  it("hasAnyMembershipFor sees memberships on the instance or that organization, whatever the roles", () => {
    assert.equal(checker.hasAnyMembershipFor(principal([{ scope: "instance", roles: ["SOMETHING"] }]), ORG_A), true);
    assert.equal(checker.hasAnyMembershipFor(principal([{ scope: ORG_A, roles: [] }]), ORG_A), true);
    assert.equal(checker.hasAnyMembershipFor(principal([{ scope: ORG_B, roles: ["ORG_OWNER"] }]), ORG_A), false);
    assert.equal(checker.hasAnyMembershipFor(principal([]), ORG_A), false);
  });

  it("organizationsWith lists the organizations whose memberships grant the permission", () => {
    const p = principal([
      { scope: ORG_B, roles: ["ORG_USER_MANAGER"] },
      { scope: ORG_A, roles: ["PROJECT_VIEWER"] },
      { scope: "instance", roles: ["IAM_OWNER"] },
    ]);
    assert.deepEqual(checker.organizationsWith(p, "user.read"), [ORG_B]);
    assert.deepEqual(checker.organizationsWith(p, "org.read"), [ORG_B]);
    assert.deepEqual(checker.organizationsWith(p, "org.create"), []);
    const two = principal([
      { scope: ORG_B, roles: ["ORG_OWNER", "ORG_USER_MANAGER"] },
      { scope: ORG_A, roles: ["ORG_OWNER"] },
    ]);
    assert.deepEqual(checker.organizationsWith(two, "user.read"), [ORG_A, ORG_B]);
    // an organization role on the instance scope grants nothing anywhere
    assert.deepEqual(checker.organizationsWith(principal([{ scope: "instance", roles: ["ORG_OWNER"] }]), "user.read"), []);
    assert.deepEqual(checker.organizationsWith(principal([]), "org.read"), []);
  });

  it("knownRole reflects the table", () => {
    assert.equal(checker.knownRole("IAM_OWNER"), true);
    assert.equal(checker.knownRole("ORG_USER_MANAGER"), true);
    assert.equal(checker.knownRole("PROJECT_OWNER"), false);
    assert.equal(checker.knownRole("toString"), false);
  });
});

describe("a configured table", () => {
  it("adds roles without code changes", () => {
    const table = parseRolePermissionTable({
      ...DEFAULT_ROLE_PERMISSIONS,
      ORG_USER_READER: { scope: "organization", permissions: ["user.read"] },
    });
    const checker = createPermissionChecker(table);
    const p = principal([{ scope: ORG_A, roles: ["ORG_USER_READER"] }]);
    assert.equal(checker.holds(p, "user.read", ORG_A), true);
    assert.equal(checker.holds(p, "user.write", ORG_A), false);
    assert.equal(checker.knownRole("ORG_USER_READER"), true);
  });

  it("rejects malformed tables", () => {
    assert.throws(() => parseRolePermissionTable([]));
    assert.throws(() => parseRolePermissionTable({ X: { scope: "galaxy", permissions: [] } }), /scope/);
    assert.throws(() => parseRolePermissionTable({ X: { scope: "instance", permissions: ["user.fly"] } }), /user\.fly/);
    assert.throws(() => parseRolePermissionTable({ x: { scope: "instance", permissions: [] } }), /UPPER_SNAKE_CASE/);
    assert.throws(() => parseRolePermissionTable({ X: { scope: "instance" } }), /array/);
  });
});
