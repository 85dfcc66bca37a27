/**
 * The user lifecycle end to end (contract.md §9.7, §9.8; auth.md §2; decision 5): LockUser,
 * UnlockUser, DeactivateUser, ReactivateUser and DeleteUser through their REST routes and every
 * other protocol, what a locked, inactive or deleted user's own tokens answer, and what is left
 * of a deleted user.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { issuePersonalAccessToken } from "../src/auth/bootstrap.js";
import { allProtocols, connectJsonH1, grpcJsClient, restClient, show, zitadelGrpc, type Outcome, type ProtocolClient } from "./support/clients.js";
import { createWorld, newHuman, rest, uniq, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const GRPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9, UNAUTHENTICATED: 16 };
const NOT_FOUND = { id: "COMMAND-ugjs0upun6", message: "User could not be found" };
const DENIED = { id: "AUTHZ-HKJD33", message: "No matching permissions found" };
const TOKEN_INVALID = { id: "ROSTER-tok01", message: "Token is invalid" };
const STALE = { id: "ROSTER-seq01", message: "User has been changed since the given sequence" };
const NOT_ACTIVE_OR_INITIAL = { id: "COMMAND-lgws8wtsqf", message: "User is not active or initial" };

let roster: TestRoster;
let inspector: Inspector;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
});

after(async () => {
  await inspector?.close();
  await roster?.close();
});

const post = (path: string, token: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) =>
  rest(roster, "POST", path, { token, body: opts.body ?? {}, headers: opts.headers });
const lock = (id: string, token: string, headers?: Record<string, string>) => post(`/v2/users/${id}/lock`, token, { headers });
const unlock = (id: string, token: string, headers?: Record<string, string>) => post(`/v2/users/${id}/unlock`, token, { headers });
const deactivate = (id: string, token: string, headers?: Record<string, string>) => post(`/v2/users/${id}/deactivate`, token, { headers });
const reactivate = (id: string, token: string, headers?: Record<string, string>) => post(`/v2/users/${id}/reactivate`, token, { headers });
const remove = (id: string, token: string, headers?: Record<string, string>) => rest(roster, "DELETE", `/v2/users/${id}`, { token, headers });
const getUser = (id: string, token: string) => rest(roster, "GET", `/v2/users/${id}`, { token });

async function sequenceOf(userId: string): Promise<number> {
  const user = await inspector.user(userId);
  assert.ok(user, `user ${userId} exists`);
  return user.sequence;
}

/** 200, details.sequence = the stored sequence = ETag. */
async function assertApplied(res: RestResponse, userId: string, sequence: number, resourceOwner: string): Promise<void> {
  assert.equal(res.status, 200, show(res.body));
  assert.equal(res.body.details.sequence, String(sequence));
  assert.equal(res.body.details.resourceOwner, resourceOwner);
  assert.equal(res.body.details.creationDate, undefined, "no creation_date on a mutation");
  assert.ok(!Number.isNaN(Date.parse(res.body.details.changeDate)));
  assert.equal(res.headers.get("etag"), `"${sequence}"`);
  assert.equal(await sequenceOf(userId), sequence);
}

function assertRestError(res: RestResponse, status: number, code: number, detail: { id: string; message: string }): void {
  assert.equal(res.status, status, show(res.body));
  assert.equal(res.body.code, code);
  assert.equal(res.body.message, `${detail.message} (${detail.id})`);
  assert.equal(res.body.details?.[0]?.id, detail.id);
  assert.equal(res.body.details?.[0]?.message, detail.message);
  assert.equal(res.headers.get("etag"), null, "error responses carry no ETag");
}

function assertRefused(o: Outcome, code: number, detail: { id: string; message: string }, what: string): void {
  assert.equal(o.code, code, `${what}: ${show(o)}`);
  assert.equal(o.message, `${detail.message} (${detail.id})`, what);
  assert.deepEqual(o.details, [detail], what);
  assert.equal(o.etag, null, `${what}: no ETag on an error`);
}

async function stateOf(userId: string, token: string): Promise<string> {
  const res = await getUser(userId, token);
  assert.equal(res.status, 200, show(res.body));
  return res.body.user.state;
}

/** A new user of Acme made by the administrator; returns its id. */
async function newAcmeUser(w: World, extra: Record<string, unknown> = {}): Promise<{ id: string; username: string }> {
  const body = newHuman({ organization: { orgId: w.acme }, ...extra });
  const res = await rest(roster, "POST", "/v2/users/human", { token: w.ian.token, body });
  assert.equal(res.status, 200, show(res.body));
  return { id: res.body.userId, username: body.username as string };
}

describe("REST routes of the state RPCs (contract.md §7, §9.7)", () => {
  test("lock → unlock → deactivate → reactivate: 200, details, ETag, the state GetUserByID shows, one event each", async () => {
    const w = await createWorld(roster);
    const id = w.ada.id;
    let seq = await sequenceOf(id);

    await assertApplied(await lock(id, w.olga.token), id, ++seq, w.acme);
    assert.equal(await stateOf(id, w.olga.token), "USER_STATE_LOCKED");
    await assertApplied(await unlock(id, w.olga.token), id, ++seq, w.acme);
    assert.equal(await stateOf(id, w.olga.token), "USER_STATE_ACTIVE");
    await assertApplied(await deactivate(id, w.olga.token), id, ++seq, w.acme);
    assert.equal(await stateOf(id, w.olga.token), "USER_STATE_INACTIVE");
    await assertApplied(await reactivate(id, w.olga.token), id, ++seq, w.acme);
    assert.equal(await stateOf(id, w.olga.token), "USER_STATE_ACTIVE");

    const events = (await inspector.events(id)).slice(-4);
    assert.deepEqual(
      events.map((e) => [e.type, e.payload.userId, e.payload.old, e.payload.new, e.actorId, e.orgId]),
      [
        ["user.locked", id, "active", "locked", w.olga.id, w.acme],
        ["user.unlocked", id, "locked", "active", w.olga.id, w.acme],
        ["user.deactivated", id, "active", "inactive", w.olga.id, w.acme],
        ["user.reactivated", id, "inactive", "active", w.olga.id, w.acme],
      ],
    );
  });

  test("the path names the user: a userId in the body is overridden", async () => {
    const w = await createWorld(roster);
    const bobBefore = await inspector.user(w.bob.id);
    const res = await post(`/v2/users/${w.ada.id}/lock`, w.olga.token, { body: { userId: w.bob.id } });
    assert.equal(res.status, 200, show(res.body));
    assert.equal((await inspector.user(w.ada.id))?.state, "locked");
    assert.deepEqual(await inspector.user(w.bob.id), bobBefore);
  });

  test("errors: state, permission, not found, if-match — in the spec's order, nothing written", async () => {
    const w = await createWorld(roster);
    const id = w.ada.id;
    assert.equal((await lock(id, w.olga.token)).status, 200);
    const seq = await sequenceOf(id);

    // a stranger locking an already locked user: the state is checked before the permission
    assertRestError(await lock(id, w.gus.token), 400, GRPC.FAILED_PRECONDITION, NOT_ACTIVE_OR_INITIAL);
    assertRestError(await reactivate(id, w.olga.token), 400, GRPC.FAILED_PRECONDITION, { id: "COMMAND-s5qqcz97hf", message: "User is not inactive" });
    assertRestError(await unlock(id, w.gus.token), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await unlock(id, w.nora.token), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await unlock("399999999999999999", w.gus.token), 404, GRPC.NOT_FOUND, NOT_FOUND);
    // if-match after the permission: a stale tag is 412 for the manager, 403 for the stranger
    assertRestError(await unlock(id, w.olga.token, { "If-Match": `"${seq - 1}"` }), 412, GRPC.FAILED_PRECONDITION, STALE);
    assertRestError(await unlock(id, w.gus.token, { "If-Match": `"${seq - 1}"` }), 403, GRPC.PERMISSION_DENIED, DENIED);
    assert.equal(await sequenceOf(id), seq, "nothing written by the refusals");
    assert.equal((await inspector.user(id))?.state, "locked");

    const ok = await unlock(id, w.olga.token, { "If-Match": `"${seq}"` });
    await assertApplied(ok, id, seq + 1, w.acme);
    assertRestError(await unlock(id, w.olga.token), 400, GRPC.FAILED_PRECONDITION, { id: "COMMAND-olb9vb0oca", message: "User is not locked" });

    await assertApplied(await deactivate(id, w.olga.token), id, seq + 2, w.acme);
    assertRestError(await deactivate(id, w.olga.token), 400, GRPC.FAILED_PRECONDITION, { id: "COMMAND-5gunjw0cd7", message: "User already inactive" });
    assertRestError(await lock(id, w.olga.token), 400, GRPC.FAILED_PRECONDITION, NOT_ACTIVE_OR_INITIAL);
  });

  test("a user in state INITIAL (imported data): lock is allowed, deactivate is refused", async () => {
    const w = await createWorld(roster);
    const bob = await inspector.user(w.bob.id);
    await inspector.store.transaction((tx) => tx.updateUser({ ...bob!, state: "initial" }));
    assertRestError(await deactivate(w.bob.id, w.olga.token), 400, GRPC.FAILED_PRECONDITION, {
      id: "COMMAND-gvx4kct9r2",
      message: "User with state initial can only be deleted not deactivated",
    });
    await assertApplied(await lock(w.bob.id, w.olga.token), w.bob.id, bob!.sequence + 1, w.acme);
    assert.equal((await inspector.events(w.bob.id)).at(-1)?.payload.old, "initial");
  });

  test("who may: the user itself, its organization's manager or owner, the IAM owner", async () => {
    const w = await createWorld(roster);
    assert.equal((await deactivate(w.ada.id, w.ada.token)).status, 200, "the user itself");
    assert.equal((await reactivate(w.ada.id, w.olga.token)).status, 200, "ORG_USER_MANAGER of Acme");
    assert.equal((await lock(w.ada.id, w.ian.token)).status, 200, "IAM_OWNER");
    assert.equal((await unlock(w.ada.id, w.ian.token)).status, 200);
    assert.equal((await lock(w.nora.id, w.gus.token)).status, 200, "ORG_OWNER of Globex on a Globex user");
    assertRestError(await lock(w.ada.id, w.gus.token), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await lock(w.ada.id, w.bob.token), 403, GRPC.PERMISSION_DENIED, DENIED);
  });
});

describe("every protocol", () => {
  test("each RPC through each client: success with ETag, and its main refusal", async () => {
    const w = await createWorld(roster);
    for (const p of allProtocols(roster.port, roster.baseUrl)) {
      const u = await newAcmeUser(w);
      let seq = await sequenceOf(u.id);
      const ok = async (rpc: string, token = w.olga.token) => {
        const o = await p.call(rpc, { userId: u.id }, { token });
        assert.equal(o.code, 0, `${p.name} ${rpc}: ${show(o)}`);
        seq += 1;
        const details = o.json?.details as { sequence: string; resourceOwner: string };
        assert.equal(details.sequence, String(seq), `${p.name} ${rpc}`);
        assert.equal(details.resourceOwner, w.acme);
        assert.equal(o.etag, `"${seq}"`, `${p.name} ${rpc} ETag`);
      };
      const refused = async (rpc: string, code: number, detail: { id: string; message: string }, token = w.olga.token, headers?: Record<string, string>) =>
        assertRefused(await p.call(rpc, { userId: u.id }, { token, headers }), code, detail, `${p.name} ${rpc}`);

      await ok("LockUser");
      await refused("LockUser", GRPC.FAILED_PRECONDITION, NOT_ACTIVE_OR_INITIAL);
      await refused("UnlockUser", GRPC.PERMISSION_DENIED, DENIED, w.gus.token);
      await refused("UnlockUser", GRPC.FAILED_PRECONDITION, STALE, w.olga.token, { "if-match": `"${seq - 1}"` });
      await ok("UnlockUser");
      await refused("UnlockUser", GRPC.FAILED_PRECONDITION, { id: "COMMAND-olb9vb0oca", message: "User is not locked" });
      await ok("DeactivateUser");
      await refused("DeactivateUser", GRPC.FAILED_PRECONDITION, { id: "COMMAND-5gunjw0cd7", message: "User already inactive" });
      await ok("ReactivateUser");
      await refused("ReactivateUser", GRPC.FAILED_PRECONDITION, { id: "COMMAND-s5qqcz97hf", message: "User is not inactive" });
      await refused("DeleteUser", GRPC.PERMISSION_DENIED, DENIED, w.gus.token);
      await ok("DeleteUser");
      for (const rpc of ["DeleteUser", "LockUser", "UnlockUser", "DeactivateUser", "ReactivateUser"]) {
        await refused(rpc, GRPC.NOT_FOUND, NOT_FOUND);
      }
      assert.equal((await inspector.user(u.id))?.state, "deleted", p.name);
    }
  });
});

describe("DeleteUser (contract.md §9.8)", () => {
  test("DELETE /v2/users/{id}: 200 with the details of the user.removed event and its ETag; the body is ignored", async () => {
    const w = await createWorld(roster);
    const seq = await sequenceOf(w.bob.id);
    const res = await rest(roster, "DELETE", `/v2/users/${w.bob.id}`, { token: w.olga.token, body: { userId: w.ada.id } });
    await assertApplied(res, w.bob.id, seq + 1, w.acme);
    const removed = (await inspector.events(w.bob.id)).at(-1)!;
    assert.equal(removed.type, "user.removed");
    assert.deepEqual(removed.payload, { userId: w.bob.id, old: "active", new: "deleted", username: w.bob.username });
    assert.equal(removed.actorId, w.olga.id);
    assert.equal(res.body.details.changeDate, removed.createdAt.toISOString());
    assert.equal((await inspector.user(w.ada.id))?.state, "active", "a userId in the body does not matter");
  });

  test("permission: self or user.delete; not found first; if-match after the permission", async () => {
    const w = await createWorld(roster);
    assertRestError(await remove(w.ada.id, w.gus.token), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await remove(w.ada.id, w.bob.token), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await remove("399999999999999999", w.gus.token), 404, GRPC.NOT_FOUND, NOT_FOUND);
    const seq = await sequenceOf(w.ada.id);
    assertRestError(await remove(w.ada.id, w.olga.token, { "If-Match": `"${seq + 5}"` }), 412, GRPC.FAILED_PRECONDITION, STALE);
    assert.equal((await inspector.user(w.ada.id))?.state, "active");
    assert.equal(await sequenceOf(w.ada.id), seq);
    await assertApplied(await remove(w.ada.id, w.ada.token, { "If-Match": `"${seq}"` }), w.ada.id, seq + 1, w.acme);
    assertRestError(await remove(w.ada.id, w.olga.token), 404, GRPC.NOT_FOUND, NOT_FOUND);
    const noraSeq = await sequenceOf(w.nora.id);
    await assertApplied(await remove(w.nora.id, w.ian.token), w.nora.id, noraSeq + 1, w.globex);
  });

  test("afterwards the user is not found, its username is free, its data and its manager role are gone", async () => {
    const w = await createWorld(roster);
    const mia = await newAcmeUser(w, {
      email: { email: `mia-${uniq()}@acme.example`, sendCode: {} },
      phone: { phone: "+41795550142", returnCode: {} },
      metadata: [{ key: "team", value: Buffer.from("engines").toString("base64") }],
    });
    const miaPat = await issuePersonalAccessToken(inspector.store, mia.id);
    assert.equal((await getUser(mia.id, miaPat.token)).status, 200, "Mia's PAT works while she exists");
    assert.equal((await inspector.store.read.getMetadata(mia.id)).length, 1);
    assert.ok(await inspector.code(mia.id, "email"));
    assert.ok(await inspector.code(mia.id, "phone"));
    assert.equal((await inspector.notifications(mia.id)).length, 1);
    const miaEvents = (await inspector.events(mia.id)).length;

    assert.equal((await remove(mia.id, w.olga.token)).status, 200);
    assert.equal((await remove(w.olga.id, w.ian.token)).status, 200);

    // every RPC treats Mia as not found
    const got = await getUser(mia.id, w.ian.token);
    assertRestError(got, 404, GRPC.NOT_FOUND, { id: "QUERY-Dfbg2", message: "User could not be found" });
    const upd = await rest(roster, "PUT", `/v2/users/human/${mia.id}`, { token: w.ian.token, body: { profile: { givenName: "M", familyName: "X" } } });
    assertRestError(upd, 404, GRPC.NOT_FOUND, NOT_FOUND);
    const pwr = await post(`/v2/users/${mia.id}/password_reset`, w.ian.token, { body: { returnCode: {} } });
    assertRestError(pwr, 404, GRPC.NOT_FOUND, { id: "COMMAND-SAF4f", message: "User could not be found" });

    // what she left behind is gone; her events stay, one more
    assert.deepEqual(await inspector.store.read.getMetadata(mia.id), []);
    assert.equal(await inspector.code(mia.id, "email"), undefined);
    assert.equal(await inspector.code(mia.id, "phone"), undefined);
    assert.deepEqual(await inspector.notifications(mia.id), []);
    assert.equal((await inspector.events(mia.id)).length, miaEvents + 1);
    assertRestError(await getUser(w.ada.id, miaPat.token), 401, GRPC.UNAUTHENTICATED, TOKEN_INVALID);

    // Olga's manager role went with her: her token no longer works
    assert.deepEqual(await inspector.store.read.getMemberships(w.olga.id), []);
    assertRestError(await getUser(w.ada.id, w.olga.token), 401, GRPC.UNAUTHENTICATED, TOKEN_INVALID);

    // the username can be taken by a new user at once
    const reuse = await rest(roster, "POST", "/v2/users/human", {
      token: w.ian.token,
      body: newHuman({ username: mia.username, organization: { orgId: w.acme } }),
    });
    assert.equal(reuse.status, 200, show(reuse.body));
    assert.notEqual(reuse.body.userId, mia.id);

    // Olga's id given again: a new user whose events continue the id's sequence, with no roles and no data of the old one
    const olgaSeq = await sequenceOf(w.olga.id);
    const again = await rest(roster, "POST", "/v2/users/human", {
      token: w.ian.token,
      body: newHuman({ userId: w.olga.id, organization: { orgId: w.acme } }, "olga-again"),
    });
    assert.equal(again.status, 200, show(again.body));
    assert.equal(again.body.userId, w.olga.id);
    assert.equal(again.body.details.sequence, String(olgaSeq + 2), "user.human.added + user.human.email.verified after user.removed");
    assert.deepEqual(await inspector.store.read.getMemberships(w.olga.id), []);
    assert.deepEqual(await inspector.store.read.getMetadata(w.olga.id), []);
    const newOlga = await roster.tokenFor(w.olga.id);
    assert.equal((await getUser(w.olga.id, newOlga)).status, 200, "the new user's own token works");
    assertRestError(await getUser(w.ada.id, newOlga), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await lock(w.ada.id, newOlga), 403, GRPC.PERMISSION_DENIED, DENIED);
    assertRestError(await remove(w.ada.id, newOlga), 403, GRPC.PERMISSION_DENIED, DENIED);
  });
});

describe("the user's own tokens (auth.md §2)", () => {
  /** Ada's own PAT and JWT, each on REST, gRPC (grpc-js and @zitadel/client) and Connect. */
  async function tokensOf(userId: string) {
    return { pat: (await issuePersonalAccessToken(inspector.store, userId)).token, jwt: await roster.tokenFor(userId) };
  }
  function clients(): ProtocolClient[] {
    return [restClient(roster.baseUrl), grpcJsClient(roster.port), zitadelGrpc(roster.baseUrl), connectJsonH1(roster.baseUrl)];
  }
  async function assertTokens(userId: string, tokens: { pat: string; jwt: string }, works: boolean, what: string): Promise<void> {
    for (const client of clients()) {
      for (const [kind, token] of Object.entries(tokens)) {
        const o = await client.call("GetUserByID", { userId }, { token });
        const label = `${what}: ${kind} on ${client.name}`;
        if (works) assert.equal(o.code, 0, `${label}: ${show(o)}`);
        else assertRefused(o, GRPC.UNAUTHENTICATED, TOKEN_INVALID, label);
        if (!works && client.name.startsWith("REST")) assert.equal(o.httpStatus, 401, label);
      }
    }
  }

  test("locked: PAT and JWT refused on the very next request, working again after unlock", async () => {
    const w = await createWorld(roster);
    const tokens = await tokensOf(w.ada.id);
    await assertTokens(w.ada.id, tokens, true, "active");
    assert.equal((await lock(w.ada.id, w.olga.token)).status, 200);
    await assertTokens(w.ada.id, tokens, false, "locked");
    assertRestError(await unlock(w.ada.id, tokens.jwt), 401, GRPC.UNAUTHENTICATED, TOKEN_INVALID);
    assert.equal((await unlock(w.ada.id, w.olga.token)).status, 200);
    await assertTokens(w.ada.id, tokens, true, "unlocked");
  });

  test("deactivated: refused, working again after reactivate; deactivating oneself ends one's own access", async () => {
    const w = await createWorld(roster);
    const tokens = await tokensOf(w.ada.id);
    assert.equal((await deactivate(w.ada.id, tokens.pat)).status, 200, "Ada deactivates herself");
    await assertTokens(w.ada.id, tokens, false, "inactive");
    assertRestError(await reactivate(w.ada.id, tokens.pat), 401, GRPC.UNAUTHENTICATED, TOKEN_INVALID);
    assert.equal((await reactivate(w.ada.id, w.olga.token)).status, 200);
    await assertTokens(w.ada.id, tokens, true, "reactivated");
  });

  test("a locked manager loses her rights at once, with her roles kept for after unlock", async () => {
    const w = await createWorld(roster);
    assert.equal((await lock(w.olga.id, w.ian.token)).status, 200);
    assertRestError(await lock(w.bob.id, w.olga.token), 401, GRPC.UNAUTHENTICATED, TOKEN_INVALID);
    assert.equal((await inspector.user(w.bob.id))?.state, "active");
    assert.equal((await unlock(w.olga.id, w.ian.token)).status, 200);
    assert.equal((await lock(w.bob.id, w.olga.token)).status, 200, "her role works again");
  });

  test("deleted: PAT and JWT refused at once; the PAT is gone from the store", async () => {
    const w = await createWorld(roster);
    const tokens = await tokensOf(w.ada.id);
    await assertTokens(w.ada.id, tokens, true, "active");
    assert.equal((await remove(w.ada.id, tokens.jwt)).status, 200, "Ada deletes herself");
    await assertTokens(w.ada.id, tokens, false, "deleted");
    const rows = await inspector.db.selectFrom("tokens").select("id").where("user_id", "=", w.ada.id).execute();
    assert.deepEqual(rows, []);
  });
});
