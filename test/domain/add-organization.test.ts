/**
 * AddOrganization on the in-memory store (contract.md §10): who may create, the order of its
 * checks, unique names and ids, admins (existing and new) with their roles, the organization's
 * events, and all-or-nothing writes. Every row starts from the cast of update-human-user.md §12.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { addOrganization, type AddOrganizationInput, type AddOrganizationResult, type OrgAdminInput } from "../../src/domain/orgs/add-organization.js";
import type { AddHumanUserInput } from "../../src/domain/users/add-human.js";
import { updateHumanUser } from "../../src/domain/users/update-human.js";
import { createDomainWorld, rejectsWith, seedExampleCast, type DomainWorld } from "../support/domain-harness.js";

let w: DomainWorld;
beforeEach(async () => {
  w = await createDomainWorld();
  await seedExampleCast(w);
});

const create = async (caller: string, input: AddOrganizationInput): Promise<AddOrganizationResult> => addOrganization(w.deps, await w.principal(caller), input);

const human = (id: string, extra: Partial<AddHumanUserInput> = {}): AddHumanUserInput => ({
  userId: id,
  username: id,
  profile: { givenName: "New", familyName: "Admin" },
  email: { email: `${id}@initech.example`, verification: { kind: "verified", value: true } },
  metadata: [],
  idpLinkCount: 0,
  ...extra,
});
const newAdmin = (id: string, roles: string[] = [], extra: Partial<AddHumanUserInput> = {}): OrgAdminInput => ({ kind: "human", human: human(id, extra), roles });
const existing = (userId: string, roles: string[] = []): OrgAdminInput => ({ kind: "existing", userId, roles });

/** Nothing of a refused request: no organization, no org events, no new user, cast unchanged. */
async function nothingWritten(orgId: string, newUserIds: string[], check: () => Promise<void>): Promise<void> {
  await check();
  assert.equal(await w.store.read.getOrg(orgId), undefined);
  assert.deepEqual(await w.store.read.listEvents(orgId, "org"), []);
  for (const id of newUserIds) assert.equal(await w.store.read.getUser(id), undefined);
  assert.equal(w.store.notifications().length, 0);
}

async function castSnapshot() {
  const ids = ["ada", "bob", "olga", "gus", "nora", "ian"];
  const before = await Promise.all(ids.map((id) => w.snapshot(id)));
  return async () => {
    for (const s of before) await w.assertUnchanged(s);
  };
}

describe("AddOrganization: refusals, in the order of the checks; nothing written", () => {
  const rows: { name: string; caller: string; input: AddOrganizationInput; setup?: () => Promise<void>; id: string }[] = [
    { name: "an ORG_OWNER may not create organizations", caller: "gus", input: { name: "Initech", orgId: "initech", admins: [existing("ada", ["NO_SUCH_ROLE"])] }, id: "AUTHZ-HKJD33" },
    { name: "an ORG_USER_MANAGER may not", caller: "olga", input: { name: "Initech", orgId: "initech", admins: [] }, id: "AUTHZ-HKJD33" },
    { name: "a user without roles may not", caller: "ada", input: { name: "Initech", orgId: "initech", admins: [] }, id: "AUTHZ-HKJD33" },
    {
      name: "an unknown role, before any admin is looked at",
      caller: "ian",
      input: { name: "Acme", orgId: "initech", admins: [existing("nobody"), existing("ada", ["ORG_OWNER", "NO_SUCH_ROLE"])] },
      id: "ROSTER-role1",
    },
    {
      name: "a new admin's bad field, before the organization is written",
      caller: "ian",
      input: { name: "Acme", orgId: "initech", admins: [newAdmin("nadia", [], { email: { email: "Nadia <n@x.example>", verification: { kind: "none" } } })] },
      id: "EMAIL-599GV",
    },
    { name: "a name taken, in other case", caller: "ian", input: { name: "ACME", orgId: "initech", admins: [existing("nobody")] }, id: "V3-DKcYh" },
    { name: "a name taken, in Unicode lower case", caller: "ian", setup: async () => void (await w.org("strasse", "Straße AG")), input: { name: "STRAẞE AG", orgId: "initech", admins: [] }, id: "V3-DKcYh" },
    { name: "an id taken", caller: "ian", input: { name: "Initech", orgId: "globex", admins: [] }, id: "V3-DKcYh" },
    { name: "an existing admin that does not exist", caller: "ian", input: { name: "Initech", orgId: "initech", admins: [newAdmin("nadia"), existing("nobody")] }, id: "COMMAND-ugjs0upun6" },
    {
      name: "an existing admin that was deleted",
      caller: "ian",
      setup: async () => {
        const bob = await w.stored("bob");
        await w.store.transaction((tx) => tx.updateUser({ ...bob, state: "deleted" }));
      },
      input: { name: "Initech", orgId: "initech", admins: [existing("bob")] },
      id: "COMMAND-ugjs0upun6",
    },
    { name: "a new admin whose username is taken", caller: "ian", input: { name: "Initech", orgId: "initech", admins: [newAdmin("nadia"), newAdmin("other", [], { username: "ADA" })] }, id: "V3-DKcYh" },
    { name: "a new admin whose id is taken", caller: "ian", input: { name: "Initech", orgId: "initech", admins: [newAdmin("nadia"), newAdmin("olga")] }, id: "COMMAND-7yiox1isql" },
    { name: "two new admins with one username", caller: "ian", input: { name: "Initech", orgId: "initech", admins: [newAdmin("nadia"), newAdmin("nadia2", [], { username: "Nadia" })] }, id: "V3-DKcYh" },
  ];
  for (const row of rows) {
    test(`${row.name} → ${row.id}`, async () => {
      await row.setup?.();
      const check = await castSnapshot();
      const memberships = await w.store.read.getMemberships("ada");
      await rejectsWith(create(row.caller, row.input), row.id);
      await nothingWritten("initech", ["nadia", "nadia2", "other"], check);
      assert.deepEqual(await w.store.read.getMemberships("ada"), memberships);
      if (row.input.orgId === "globex") assert.equal((await w.store.read.getOrg("globex"))?.name, "Globex");
    });
  }
});

describe("AddOrganization: what is written", () => {
  test("the IAM_OWNER creates an organization without admins: one org.added, details name it", async () => {
    const result = await create("ian", { name: "Initech", admins: [] });
    assert.match(result.organizationId, /^[1-9][0-9]{17}$/);
    const org = await w.store.read.getOrg(result.organizationId);
    assert.deepEqual(org, { id: result.organizationId, name: "Initech", createdAt: result.details.changeDate });
    const events = await w.store.read.listEvents(result.organizationId, "org");
    assert.deepEqual(
      events.map((e) => [e.aggregateType, e.sequence, e.type, e.actorId, e.orgId, e.payload]),
      [["org", 1, "org.added", "ian", result.organizationId, { orgId: result.organizationId, name: "Initech" }]],
    );
    assert.deepEqual(result.details, { sequence: 1, changeDate: events[0]!.createdAt, resourceOwner: result.organizationId });
    assert.deepEqual(result.createdAdmins, []);
  });

  test("existing and new admins: memberships (ORG_OWNER by default, roles as given), one org.member.added each, in order", async () => {
    const result = await create("ian", {
      name: "Initech",
      orgId: "initech",
      admins: [
        existing("ada"),
        newAdmin("nadia", ["ORG_USER_MANAGER"], { email: { email: "nadia@initech.example", verification: { kind: "return" } }, phone: { phone: "+41795550199", verification: { kind: "return" } } }),
        existing("bob", ["ORG_USER_MANAGER", "ORG_OWNER"]),
        newAdmin("nico", [], { email: { email: "nico@initech.example", verification: { kind: "send" } } }),
      ],
    });
    assert.equal(result.organizationId, "initech");
    const events = await w.store.read.listEvents("initech", "org");
    assert.deepEqual(
      events.map((e) => [e.sequence, e.type, e.payload]),
      [
        [1, "org.added", { orgId: "initech", name: "Initech" }],
        [2, "org.member.added", { orgId: "initech", userId: "ada", roles: ["ORG_OWNER"] }],
        [3, "org.member.added", { orgId: "initech", userId: "nadia", roles: ["ORG_USER_MANAGER"] }],
        [4, "org.member.added", { orgId: "initech", userId: "bob", roles: ["ORG_USER_MANAGER", "ORG_OWNER"] }],
        [5, "org.member.added", { orgId: "initech", userId: "nico", roles: ["ORG_OWNER"] }],
      ],
    );
    assert.equal(result.details.sequence, 5);

    const scopes = async (id: string) => (await w.store.read.getMemberships(id)).filter((m) => m.scope === "initech").map((m) => m.roles);
    assert.deepEqual(await scopes("ada"), [["ORG_OWNER"]]);
    assert.deepEqual(await scopes("nadia"), [["ORG_USER_MANAGER"]]);
    assert.deepEqual(await scopes("bob"), [["ORG_USER_MANAGER", "ORG_OWNER"]]);
    assert.deepEqual(await scopes("nico"), [["ORG_OWNER"]]);
    // an existing admin keeps its own organization
    assert.equal((await w.stored("ada")).orgId, "acme");

    // new admins are created as AddHumanUser would, in the new organization; codes only when returned
    assert.deepEqual(
      result.createdAdmins.map((a) => [a.userId, typeof a.emailCode, typeof a.phoneCode]),
      [
        ["nadia", "string", "string"],
        ["nico", "undefined", "undefined"],
      ],
    );
    for (const id of ["nadia", "nico"]) {
      const user = await w.stored(id);
      assert.deepEqual([user.orgId, user.state, user.displayName], ["initech", "active", "New Admin"]);
      const userEvents = await w.events(id);
      assert.equal(userEvents[0]!.type, "user.human.added");
      for (const e of userEvents) assert.deepEqual([e.orgId, e.actorId, e.createdAt], ["initech", "ian", result.details.changeDate]);
    }
    assert.deepEqual(
      (await w.events("nadia")).map((e) => e.type),
      ["user.human.added", "user.human.email.code.added", "user.human.phone.code.added"],
    );
    assert.deepEqual(
      w.store.notifications().map((n) => [n.userId, n.channel, n.recipient]),
      [["nico", "email", "nico@initech.example"]],
    );
  });

  test("a new organization's ORG_OWNER holds user.write there: it may update users of it", async () => {
    await create("ian", { name: "Initech", orgId: "initech", admins: [existing("bob"), newAdmin("nadia")] });
    const result = await updateHumanUser(w.deps, await w.principal("bob"), { userId: "nadia", profile: { givenName: "Nadia", familyName: "Admin" } });
    assert.equal(result.details.sequence, 3);
    // and nothing beyond it
    await rejectsWith(updateHumanUser(w.deps, await w.principal("bob"), { userId: "ada", username: "x" }), "AUTHZ-HKJD33");
  });

  test("organization and user ids are separate streams: an org id equal to a user's id", async () => {
    const adaEvents = await w.events("ada");
    await create("ian", { name: "Ada Org", orgId: "ada", admins: [] });
    assert.deepEqual(await w.events("ada"), adaEvents);
    assert.deepEqual((await w.store.read.listEvents("ada", "org")).map((e) => e.type), ["org.added"]);
    await create("ian", { name: "Other", orgId: "other", admins: [newAdmin("acme")] });
    assert.equal((await w.stored("acme")).orgId, "other");
  });

  test("names are stored as sent; only Unicode lower case makes two names one", async () => {
    await create("ian", { name: "Straße", orgId: "s1", admins: [] });
    await create("ian", { name: "STRASSE", orgId: "s2", admins: [] });
    await create("ian", { name: " Straße", orgId: "s3", admins: [] });
    assert.deepEqual(
      await Promise.all(["s1", "s2", "s3"].map(async (id) => (await w.store.read.getOrg(id))?.name)),
      ["Straße", "STRASSE", " Straße"],
    );
  });
});
