/**
 * OrganizationService.AddOrganization over REST (contract.md §10): who may create, uniqueness of
 * names and ids, admins (existing and new) and their roles, and all-or-nothing writes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startTestRoster, type TestRoster } from "./support/roster.js";
import { assertOk, createWorld, newHuman, rest, uniq, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";

const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7 };

function assertError(res: RestResponse, status: number, code: number, id?: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  if (id) assert.equal(res.body.details?.[0]?.id, id, JSON.stringify(res.body));
}

describe("AddOrganization", () => {
  let roster: TestRoster;
  let inspector: Inspector;
  let world: World;

  before(async () => {
    roster = await startTestRoster();
    inspector = await openInspector(roster.databaseUrl);
    world = await createWorld(roster);
  });
  after(async () => {
    await inspector?.close();
    await roster?.close();
  });

  const addOrg = (body: unknown, token: string) => rest(roster, "POST", "/v2/organizations", { token, body });
  const updateNick = (userId: string, token: string, nickName: string) =>
    rest(roster, "PUT", `/v2/users/human/${userId}`, {
      token,
      body: { profile: { givenName: "Bob", familyName: "Builder", nickName } },
    });

  test("the IAM_OWNER creates an organization; details name it as resource owner", async () => {
    const res = await addOrg({ name: `Initech-${uniq()}` }, world.ian.token);
    assertOk(res);
    assert.match(res.body.organizationId, /^\d{18}$/);
    assert.equal(res.body.details.resourceOwner, res.body.organizationId);
    assert.deepEqual(res.body.createdAdmins ?? [], []);
    assert.ok(await inspector.store.read.getOrg(res.body.organizationId));
    // the new organization can be used at once
    const user = await rest(roster, "POST", "/v2/users/human", {
      token: world.ian.token,
      body: { ...newHuman({}, "admin"), organization: { orgId: res.body.organizationId } },
    });
    assertOk(user);
    assert.equal(user.body.details.resourceOwner, res.body.organizationId);
  });

  test("an ORG_OWNER, an ORG_USER_MANAGER and a roleless user may not → PERMISSION_DENIED, nothing written", async () => {
    const name = `Forbidden-${uniq()}`;
    for (const who of [world.gus, world.olga, world.ada]) {
      const res = await addOrg({ name }, who.token);
      assertError(res, 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    }
    assertOk(await addOrg({ name }, world.ian.token)); // the name was not taken
  });

  test("a name used already, compared case-insensitively → ALREADY_EXISTS V3-DKcYh", async () => {
    const name = `Umbrella-${uniq()}`;
    assertOk(await addOrg({ name }, world.ian.token));
    const res = await addOrg({ name: name.toUpperCase() }, world.ian.token);
    assertError(res, 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
    assert.match(res.body.message, /^Organisation already exists/);
  });

  test("a given orgId is used; given again → ALREADY_EXISTS", async () => {
    const orgId = `8${Date.now()}`.padEnd(18, "2").slice(0, 18);
    const res = await addOrg({ name: `Hooli-${uniq()}`, orgId }, world.ian.token);
    assertOk(res);
    assert.equal(res.body.organizationId, orgId);
    assertError(await addOrg({ name: `Hooli-${uniq()}`, orgId }, world.ian.token), 409, GRPC.ALREADY_EXISTS);
  });

  test("organization and user ids are separate: an orgId equal to a user's id, and a userId equal to an organization's id, both work", async () => {
    const w = await createWorld(roster);
    const before = await inspector.events(w.bob.id);
    const org = await addOrg({ name: `Twin-${uniq()}`, orgId: w.bob.id }, world.ian.token);
    assertOk(org);
    assert.equal(org.body.organizationId, w.bob.id);
    assert.deepEqual(await inspector.events(w.bob.id), before, "the user's events are untouched");
    const bob = await rest(roster, "GET", `/v2/users/${w.bob.id}`, { token: world.ian.token });
    assertOk(bob);
    assert.equal(bob.body.details.sequence, String(before.length));

    const user = await rest(roster, "POST", "/v2/users/human", { token: world.ian.token, body: { ...newHuman(), userId: w.globex } });
    assertOk(user);
    assert.equal(user.body.userId, w.globex);
    assert.deepEqual((await inspector.events(w.globex)).map((e) => e.type), ["user.human.added", "user.human.email.verified"]);
  });

  test("an existing user as admin gets ORG_OWNER: it can then update users of the new organization", async () => {
    const w = await createWorld(roster);
    const created = await addOrg({ name: `Stark-${uniq()}`, admins: [{ userId: w.bob.id }] }, world.ian.token);
    assertOk(created);
    const orgId = created.body.organizationId;
    const memberships = await inspector.store.read.getMemberships(w.bob.id);
    assert.deepEqual(memberships.map((m) => [m.scope, [...m.roles]]), [[orgId, ["ORG_OWNER"]]]);
    const member = await rest(roster, "POST", "/v2/users/human", {
      token: world.ian.token,
      body: { ...newHuman({}, "admin"), organization: { orgId } },
    });
    assertOk(member);
    // Bob (of Acme) now holds user.write on the new organization, and nothing on Globex
    assertOk(await updateNick(member.body.userId, w.bob.token, "managed by Bob"));
    assertError(await updateNick(w.nora.id, w.bob.token, "not Bob's"), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    // and may create users in it (AddHumanUser's check before the handler)
    assertOk(await rest(roster, "POST", "/v2/users/human", { token: w.bob.token, body: { ...newHuman({}, "admin"), organization: { orgId } } }));
    // Nora was made admin of nothing: the new organization's users stay out of her reach
    assertError(await updateNick(member.body.userId, w.nora.token, "no"), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
  });

  test("explicit roles are stored as given", async () => {
    const w = await createWorld(roster);
    const created = await addOrg({ name: `Wayne-${uniq()}`, admins: [{ userId: w.nora.id, roles: ["ORG_USER_MANAGER"] }] }, world.ian.token);
    assertOk(created);
    const orgId = created.body.organizationId;
    const memberships = await inspector.store.read.getMemberships(w.nora.id);
    assert.deepEqual(memberships.map((m) => [m.scope, [...m.roles].sort()]), [[orgId, ["ORG_USER_MANAGER"]]]);
    const member = await rest(roster, "POST", "/v2/users/human", { token: world.ian.token, body: { ...newHuman({}, "admin"), organization: { orgId } } });
    assertOk(member);
    assertOk(await updateNick(member.body.userId, w.nora.token, "managed by Nora"));
  });

  test("an unknown role → INVALID_ARGUMENT and nothing written", async () => {
    const w = await createWorld(roster);
    const name = `BadRole-${uniq()}`;
    const res = await addOrg({ name, admins: [{ userId: w.bob.id, roles: ["ORG_OWNER", "GOD_MODE"] }] }, world.ian.token);
    assertError(res, 400, GRPC.INVALID_ARGUMENT);
    assertOk(await addOrg({ name }, world.ian.token));
  });

  test("an unknown admin user id → NOT_FOUND COMMAND-ugjs0upun6 and nothing written", async () => {
    const name = `Ghost-${uniq()}`;
    const orgId = `9${Date.now()}`.padEnd(18, "3").slice(0, 18);
    const admin = newHuman({}, "admin");
    const res = await addOrg(
      { name, orgId, admins: [{ human: admin }, { userId: "399999999999999999" }] },
      world.ian.token,
    );
    assertError(res, 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6");
    assert.equal(await inspector.store.read.getOrg(orgId), undefined);
    // neither the organization nor the new human admin exists: the same request without the ghost works
    const again = await addOrg({ name, orgId, admins: [{ human: admin }] }, world.ian.token);
    assertOk(again);
    assert.equal(again.body.organizationId, orgId);
  });

  test("new human admins are created in the new organization with ORG_OWNER; codes only with returnCode", async () => {
    const withCode = newHuman({ email: { email: `code-${uniq()}@example.com`, returnCode: {} }, phone: { phone: "+41795550111", returnCode: {} } }, "admin");
    const sent = newHuman({ email: { email: `sent-${uniq()}@example.com` } }, "admin");
    const res = await addOrg({ name: `Cyberdyne-${uniq()}`, admins: [{ human: withCode }, { human: sent }] }, world.ian.token);
    assertOk(res);
    const orgId = res.body.organizationId;
    assert.equal(res.body.createdAdmins.length, 2);
    const [first, second] = res.body.createdAdmins;
    assert.match(first.emailCode, /^[A-Z0-9]{6}$/);
    assert.match(first.phoneCode, /^[A-Z0-9]{6}$/);
    assert.equal(second.emailCode, undefined);
    assert.equal(second.phoneCode, undefined);
    assert.equal((await inspector.notifications(second.userId)).length, 1);

    for (const { userId } of res.body.createdAdmins) {
      const user = await inspector.user(userId);
      assert.equal(user?.orgId, orgId);
      assert.equal((await inspector.events(userId))[0]?.type, "user.human.added");
    }
    // ORG_OWNER of the new organization: the first admin may update the second
    const token = await roster.tokenFor(first.userId);
    const upd = await rest(roster, "PUT", `/v2/users/human/${second.userId}`, { token, body: { profile: { givenName: "Sec", familyName: "Ond" } } });
    assertOk(upd);
    // and nothing outside it
    assertError(await updateNick(world.bob.id, token, "x"), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
  });

  test("a new human admin whose username is taken → ALREADY_EXISTS and nothing written", async () => {
    const name = `Dup-${uniq()}`;
    const res = await addOrg({ name, admins: [{ human: newHuman({ username: world.ada.username.toUpperCase() }, "admin") }] }, world.ian.token);
    assertError(res, 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
    assertOk(await addOrg({ name }, world.ian.token));
  });

  test("field rules: an empty name → INVALID_ARGUMENT", async () => {
    assertError(await addOrg({ name: "" }, world.ian.token), 400, GRPC.INVALID_ARGUMENT);
  });
});
