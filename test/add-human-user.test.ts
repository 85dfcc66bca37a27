/**
 * AddHumanUser end to end over REST (contract.md §9.1, auth.md §4/§5): organization context,
 * permissions, ids, usernames, profile defaults, contact codes, passwords, metadata and events.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import { startTestRoster, type TestRoster } from "./support/roster.js";
import { assertOk, createWorld, newHuman, rest, uniq, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { sql } from "kysely";

const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12 };

function assertError(res: RestResponse, status: number, code: number, id: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.equal(res.body.details?.[0]?.id, id, JSON.stringify(res.body));
  assert.ok(String(res.body.message).endsWith(`(${id})`), res.body.message);
}

/** Resolves once some database session waits for a lock (or `done` turns true first). */
async function waitForLockWait(inspector: Inspector, done: () => boolean): Promise<void> {
  while (!done()) {
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`.execute(inspector.db);
    if (Number(rows[0]!.n) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("AddHumanUser", () => {
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

  const add = (body: unknown, token: string, headers?: Record<string, string>) =>
    rest(roster, "POST", "/v2/users/human", { token, body, headers });

  describe("organization context", () => {
    test("organization.orgId wins over the header and the caller's own organization", async () => {
      const res = await add(newHuman({ organization: { orgId: world.acme } }), world.ian.token, { "x-zitadel-orgid": world.globex });
      assertOk(res);
      assert.equal(res.body.details.resourceOwner, world.acme);
      assert.equal((await inspector.user(res.body.userId))?.orgId, world.acme);
    });

    test("x-zitadel-orgid is used when organization is absent", async () => {
      const res = await add(newHuman(), world.ian.token, { "x-zitadel-orgid": world.globex });
      assertOk(res);
      assert.equal(res.body.details.resourceOwner, world.globex);
    });

    test("without organization and header, the caller's own organization", async () => {
      const res = await add(newHuman(), world.olga.token);
      assertOk(res);
      assert.equal(res.body.details.resourceOwner, world.acme);
    });

    test("an empty x-zitadel-orgid counts as absent", async () => {
      const res = await add(newHuman(), world.olga.token, { "x-zitadel-orgid": "" });
      assertOk(res);
      assert.equal(res.body.details.resourceOwner, world.acme);
    });

    test("orgDomain names no organization (Roster has no domains) → AUTH-Bs7Ds", async () => {
      const res = await add(newHuman({ organization: { orgDomain: "acme.example" } }), world.ian.token);
      assertError(res, 403, GRPC.PERMISSION_DENIED, "AUTH-Bs7Ds");
    });

    test("an unknown organization id → AUTH-Bs7Ds", async () => {
      const res = await add(newHuman({ organization: { orgId: "999999999999999999" } }), world.ian.token);
      assertError(res, 403, GRPC.PERMISSION_DENIED, "AUTH-Bs7Ds");
    });

    test("an unknown x-zitadel-orgid → AUTH-Bs7Ds", async () => {
      const res = await add(newHuman(), world.ian.token, { "x-zitadel-orgid": "999999999999999999" });
      assertError(res, 403, GRPC.PERMISSION_DENIED, "AUTH-Bs7Ds");
    });
  });

  describe("permission on the context organization (auth.md §5)", () => {
    test("Gus (ORG_OWNER of Globex, no membership on Acme) creating in Acme → 404 AUTHZ-cdgFk", async () => {
      const body = newHuman({ organization: { orgId: world.acme } });
      const res = await add(body, world.gus.token);
      assertError(res, 404, GRPC.NOT_FOUND, "AUTHZ-cdgFk");
      const taken = await add({ ...body, organization: { orgId: world.acme } }, world.ian.token);
      assertOk(taken); // nothing was written by the refused request: the username is still free
    });

    test("Gus creating in his own Globex → 200", async () => {
      const res = await add(newHuman({ organization: { orgId: world.globex } }), world.gus.token);
      assertOk(res);
      assert.equal(res.body.details.resourceOwner, world.globex);
    });

    test("Nora (no membership at all) creating in her own organization → 404 AUTHZ-cdgFk", async () => {
      const res = await add(newHuman(), world.nora.token);
      assertError(res, 404, GRPC.NOT_FOUND, "AUTHZ-cdgFk");
    });

    test("Ada creating herself a colleague via the header naming Acme → 404 AUTHZ-cdgFk", async () => {
      const res = await add(newHuman(), world.ada.token, { "x-zitadel-orgid": world.acme });
      assertError(res, 404, GRPC.NOT_FOUND, "AUTHZ-cdgFk");
    });

    test("a membership on the organization whose roles grant no user.write → 403 AUTH-5mWD2", async () => {
      // No API assigns such a role; a role outside the permission table grants nothing.
      const w = await createWorld(roster);
      await inspector.store.transaction((tx) => tx.addMembership({ userId: w.bob.id, scope: w.acme, roles: ["PROJECT_VIEWER"] }));
      const res = await add(newHuman({ organization: { orgId: w.acme } }), w.bob.token);
      assertError(res, 403, GRPC.PERMISSION_DENIED, "AUTH-5mWD2");
    });

    test("an unknown organization is reported before the missing membership", async () => {
      const res = await add(newHuman({ organization: { orgId: "999999999999999999" } }), world.nora.token);
      assertError(res, 403, GRPC.PERMISSION_DENIED, "AUTH-Bs7Ds");
    });

    test("the organization check comes before the field rules (contract.md §9: interceptor check, then field rules)", async () => {
      const invalid = { profile: { givenName: "", familyName: "Hopper" }, email: { email: "not an address" } };
      assertError(await add(invalid, world.nora.token), 404, GRPC.NOT_FOUND, "AUTHZ-cdgFk");
      assertError(await add({ ...invalid, organization: { orgId: "999999999999999999" } }, world.ian.token), 403, GRPC.PERMISSION_DENIED, "AUTH-Bs7Ds");
      const w = await createWorld(roster);
      await inspector.store.transaction((tx) => tx.addMembership({ userId: w.bob.id, scope: w.acme, roles: ["PROJECT_VIEWER"] }));
      assertError(await add({ ...invalid, organization: { orgId: w.acme } }, w.bob.token), 403, GRPC.PERMISSION_DENIED, "AUTH-5mWD2");
      // with the permission, the field rule answers
      const allowed = await add(invalid, world.ian.token);
      assert.equal(allowed.status, 400, JSON.stringify(allowed.body));
      assert.equal(allowed.body.code, GRPC.INVALID_ARGUMENT);
      assert.equal(allowed.body.details, undefined);
    });
  });

  describe("id and username", () => {
    test("a given user_id is used; given again → FAILED_PRECONDITION COMMAND-7yiox1isql", async () => {
      const id = `7${Date.now()}`.padEnd(18, "1").slice(0, 18);
      const res = await add(newHuman({ userId: id, organization: { orgId: world.acme } }), world.ian.token);
      assertOk(res);
      assert.equal(res.body.userId, id);
      const again = await add(newHuman({ userId: id, organization: { orgId: world.acme } }), world.ian.token);
      assertError(again, 400, GRPC.FAILED_PRECONDITION, "COMMAND-7yiox1isql");
    });

    test("an id in use is reported before the password policy and the IDP links (§9.1 steps 3, 8, 9)", async () => {
      const id = `6${Date.now()}`.padEnd(18, "2").slice(0, 18);
      assertOk(await add(newHuman({ userId: id, organization: { orgId: world.acme } }), world.ian.token));
      const weak = await add(newHuman({ userId: id, password: { password: "weak" } }), world.ian.token);
      assertError(weak, 400, GRPC.FAILED_PRECONDITION, "COMMAND-7yiox1isql");
      const linked = await add(newHuman({ userId: id, idpLinks: [{ idpId: "idp", userId: "ext-1", userName: "ext" }] }), world.ian.token);
      assertError(linked, 400, GRPC.FAILED_PRECONDITION, "COMMAND-7yiox1isql");
    });

    test("a taken username is reported before the password policy and the IDP links (§9.1 steps 4, 8, 9)", async () => {
      const taken = newHuman();
      assertOk(await add(taken, world.ian.token));
      const weak = await add(newHuman({ username: taken.username, password: { password: "weak" } }), world.ian.token);
      assertError(weak, 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
      const linked = await add(newHuman({ username: taken.username, idpLinks: [{ idpId: "idp", userId: "ext-1", userName: "ext" }] }), world.ian.token);
      assertError(linked, 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
    });

    test("an id taken by a concurrent request at commit time → COMMAND-7yiox1isql, not an internal error", async () => {
      const id = `5${Date.now()}`.padEnd(18, "4").slice(0, 18);
      let answered = false;
      let pending: Promise<RestResponse> | undefined;
      // A competing transaction holds an uncommitted row with that id: the request finds no user
      // with the id, then has to wait for the competitor at insert time.
      await inspector.db.transaction().execute(async (trx) => {
        await sql`INSERT INTO users (id, org_id, type, state, username, username_folded, sequence, created_at, changed_at)
          VALUES (${id}, ${world.acme}, 'human', 'active', ${`rival-${id}`}, ${`rival-${id}`}, 1, now(), now())`.execute(trx);
        pending = add(newHuman({ userId: id, organization: { orgId: world.acme } }), world.ian.token).finally(() => (answered = true));
        await waitForLockWait(inspector, () => answered);
      });
      assertError(await pending!, 400, GRPC.FAILED_PRECONDITION, "COMMAND-7yiox1isql");
    });

    test("a generated id is an 18-digit decimal string", async () => {
      const res = await add(newHuman(), world.ian.token);
      assertOk(res);
      assert.match(res.body.userId, /^\d{18}$/);
    });

    test("username defaults to the email address, stored as sent", async () => {
      const email = `Mixed.Case-${uniq()}@Example.com`;
      const res = await add({ profile: { givenName: "M", familyName: "C" }, email: { email, isVerified: true } }, world.ian.token);
      assertOk(res);
      const got = await rest(roster, "GET", `/v2/users/${res.body.userId}`, { token: world.ian.token });
      assert.equal(got.body.user.username, email);
      assert.equal(got.body.user.human.email.email, email);
    });

    test("a username is trimmed of surrounding white space; blank → 400 V2-zzad3 with nothing written", async () => {
      const name = `Trimmed-${uniq()}`;
      const res = await add(newHuman({ username: `  ${name}\t` }), world.ian.token);
      assertOk(res);
      const got = await rest(roster, "GET", `/v2/users/${res.body.userId}`, { token: world.ian.token });
      assert.equal(got.body.user.username, name);
      // the trimmed name is what must be unique
      assertError(await add(newHuman({ username: ` ${name.toLowerCase()} ` }), world.ian.token), 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
      for (const username of ["   ", "\n\t", "\u00a0"]) {
        const blank = newHuman({ username, userId: `blank-${uniq()}` });
        assertError(await add(blank, world.ian.token), 400, GRPC.INVALID_ARGUMENT, "V2-zzad3");
        const after = await rest(roster, "GET", `/v2/users/${blank.userId}`, { token: world.ian.token });
        assert.equal(after.status, 404);
      }
    });

    test("a username taken in another organization, differing in case → ALREADY_EXISTS V3-DKcYh", async () => {
      const name = `Taken-${uniq()}`;
      assertOk(await add(newHuman({ username: name, organization: { orgId: world.globex } }), world.ian.token));
      const res = await add(newHuman({ username: name.toUpperCase(), organization: { orgId: world.acme } }), world.ian.token);
      assertError(res, 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
    });

    test("an email-default username that clashes with an existing username → V3-DKcYh", async () => {
      const email = `clash-${uniq()}@example.com`;
      assertOk(await add(newHuman({ username: email.toUpperCase() }), world.ian.token));
      const res = await add({ profile: { givenName: "A", familyName: "B" }, email: { email, isVerified: true } }, world.ian.token);
      assertError(res, 409, GRPC.ALREADY_EXISTS, "V3-DKcYh");
    });
  });

  describe("profile", () => {
    test("display name defaults to '<given> <family>'; language und; gender unspecified", async () => {
      const res = await add(newHuman({ profile: { givenName: " Grace ", familyName: "Hopper" } }), world.ian.token);
      assertOk(res);
      const got = await rest(roster, "GET", `/v2/users/${res.body.userId}`, { token: world.ian.token });
      const profile = got.body.user.human.profile;
      assert.equal(profile.givenName, "Grace");
      assert.equal(profile.displayName, "Grace Hopper");
      assert.equal(profile.preferredLanguage, "und");
      assert.equal(profile.gender, "GENDER_UNSPECIFIED");
      assert.equal(got.body.user.state, "USER_STATE_ACTIVE");
    });

    test("an explicit display name is kept; the language is canonicalised", async () => {
      const res = await add(
        newHuman({ profile: { givenName: "Grace", familyName: "Hopper", displayName: "Amazing Grace", preferredLanguage: "DE-ch", gender: "GENDER_FEMALE" } }),
        world.ian.token,
      );
      assertOk(res);
      const profile = (await rest(roster, "GET", `/v2/users/${res.body.userId}`, { token: world.ian.token })).body.user.human.profile;
      assert.equal(profile.displayName, "Amazing Grace");
      assert.equal(profile.preferredLanguage, "de-CH");
      assert.equal(profile.gender, "GENDER_FEMALE");
    });

    test("a blank given name → USER-UCej2, a blank family name → USER-4hB7d", async () => {
      assertError(await add(newHuman({ profile: { givenName: "  ", familyName: "Hopper" } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "USER-UCej2");
      assertError(await add(newHuman({ profile: { givenName: "Grace", familyName: "\t" } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "USER-4hB7d");
    });
  });

  describe("unsupported inputs", () => {
    test("totpSecret → UNIMPLEMENTED, nothing written", async () => {
      const body = newHuman({ totpSecret: "JBSWY3DPEHPK3PXP" });
      const res = await add(body, world.ian.token);
      assert.equal(res.status, 501, JSON.stringify(res.body));
      assert.equal(res.body.code, GRPC.UNIMPLEMENTED);
      assert.equal(res.body.details?.[0]?.id, "ROSTER-unimp");
      const { totpSecret: _, ...withoutTotp } = body;
      assertOk(await add(withoutTotp, world.ian.token)); // the username was not taken
    });

    test("idpLinks → FAILED_PRECONDITION COMMAND-39nf2", async () => {
      const res = await add(newHuman({ idpLinks: [{ idpId: "idp", userId: "ext-1", userName: "ext" }] }), world.ian.token);
      assertError(res, 400, GRPC.FAILED_PRECONDITION, "COMMAND-39nf2");
    });

    test("a bad email url template → DOMAIN-ieYa7", async () => {
      const res = await add(newHuman({ email: { email: `t-${uniq()}@example.com`, sendCode: { urlTemplate: "https://x/{{.LoginName}}" } } }), world.ian.token);
      assertError(res, 400, GRPC.INVALID_ARGUMENT, "DOMAIN-ieYa7");
    });

    test("an email with a display name → EMAIL-599GV; an unparsable phone → PHONE-so0wa", async () => {
      assertError(await add(newHuman({ email: { email: `Minnie <m-${uniq()}@example.com>` } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "EMAIL-599GV");
      assertError(await add(newHuman({ phone: { phone: "not a number" } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "PHONE-so0wa");
    });
  });

  describe("email and phone", () => {
    test("returnCode: codes are returned, stored only as hashes, nothing is sent", async () => {
      const res = await add(
        newHuman({ email: { email: `r-${uniq()}@example.com`, returnCode: {} }, phone: { phone: "+41 79 555 01 99", returnCode: {} } }),
        world.ian.token,
      );
      assertOk(res);
      assert.match(res.body.emailCode, /^[A-Z0-9]{6}$/);
      assert.match(res.body.phoneCode, /^[A-Z0-9]{6}$/);
      const id = res.body.userId;
      const user = await inspector.user(id);
      assert.equal(user?.emailVerified, false);
      assert.equal(user?.phone, "+41795550199");
      assert.equal(user?.phoneVerified, false);
      const emailCode = await inspector.code(id, "email");
      assert.equal(emailCode?.delivery, "returned");
      assert.ok(!emailCode!.hash.toString("latin1").includes(res.body.emailCode));
      assert.equal((await inspector.code(id, "phone"))?.delivery, "returned");
      assert.deepEqual(await inspector.notifications(id), []);
    });

    test("sendCode / nothing: no code in the response, a pending notification per channel", async () => {
      const res = await add(
        newHuman({ email: { email: `s-${uniq()}@example.com`, sendCode: { urlTemplate: "https://app.example/verify?u={{.UserID}}&c={{.Code}}" } }, phone: { phone: "+41795550198" } }),
        world.ian.token,
      );
      assertOk(res);
      assert.equal(res.body.emailCode, undefined);
      assert.equal(res.body.phoneCode, undefined);
      const notes = await inspector.notifications(res.body.userId);
      assert.deepEqual(notes.map((n) => [n.channel, n.purpose, n.recipient]).sort(), [
        ["email", "email", (await inspector.user(res.body.userId))!.email],
        ["sms", "phone", "+41795550198"],
      ]);
      assert.equal((await inspector.code(res.body.userId, "email"))?.urlTemplate, "https://app.example/verify?u={{.UserID}}&c={{.Code}}");
    });

    test("email isVerified false still creates a code; isVerified true creates none", async () => {
      const unverified = await add(newHuman({ email: { email: `f-${uniq()}@example.com`, isVerified: false } }), world.ian.token);
      assertOk(unverified);
      assert.ok(await inspector.code(unverified.body.userId, "email"));
      assert.equal((await inspector.user(unverified.body.userId))?.emailVerified, false);

      const verified = await add(newHuman({ phone: { phone: "+41795550197", isVerified: true } }), world.ian.token);
      assertOk(verified);
      assert.equal(await inspector.code(verified.body.userId, "email"), undefined);
      assert.equal(await inspector.code(verified.body.userId, "phone"), undefined);
      const got = await rest(roster, "GET", `/v2/users/${verified.body.userId}`, { token: world.ian.token });
      assert.equal(got.body.user.human.email.isVerified, true);
      assert.deepEqual(got.body.user.human.phone, { phone: "+41795550197", isVerified: true });
    });

    test("an empty phone number means no phone", async () => {
      const res = await add(newHuman({ phone: { phone: "" } }), world.ian.token);
      assertOk(res);
      assert.equal((await inspector.user(res.body.userId))?.phone, "");
      assert.equal(await inspector.code(res.body.userId, "phone"), undefined);
    });
  });

  describe("passwords", () => {
    test("a plain password is bcrypt-hashed and usable as current password", async () => {
      const res = await add(newHuman({ password: { password: "Plain-Passw0rd!", changeRequired: true } }), world.ian.token);
      assertOk(res);
      const user = await inspector.user(res.body.userId);
      assert.match(user!.passwordHash!, /^\$2[aby]\$04\$/);
      assert.ok(await bcrypt.compare("Plain-Passw0rd!", user!.passwordHash!));
      assert.equal(user?.passwordChangeRequired, true);
    });

    test("a hashed password is stored verbatim, without policy", async () => {
      const hash = await bcrypt.hash("weak", 4);
      const res = await add(newHuman({ hashedPassword: { hash } }), world.ian.token);
      assertOk(res);
      assert.equal((await inspector.user(res.body.userId))?.passwordHash, hash);
      // the imported password works: the user can change it with it as the current password
      const token = await roster.tokenFor(res.body.userId);
      const set = await rest(roster, "POST", `/v2/users/${res.body.userId}/password`, {
        token,
        body: { newPassword: { password: "Strong-Passw0rd!" }, currentPassword: "weak" },
      });
      assertOk(set);
    });

    test("a non-bcrypt hash → USER-oz74onzvqr; a password over 72 bytes → ROSTER-pw072; policy applies to plain ones", async () => {
      assertError(await add(newHuman({ hashedPassword: { hash: "$argon2id$v=19$m=65536,t=3,p=4$abc$def" } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "USER-oz74onzvqr");
      assertError(await add(newHuman({ password: { password: "Aa1!" + "é".repeat(35) } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "ROSTER-pw072");
      assertError(await add(newHuman({ password: { password: "short" } }), world.ian.token), 400, GRPC.INVALID_ARGUMENT, "DOMAIN-HuJf6");
    });
  });

  describe("metadata, events, details", () => {
    test("events in order (added, email, phone, metadata per entry), metadata stored, ETag and sequence agree", async () => {
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const res = await add(
        newHuman({
          organization: { orgId: world.acme },
          email: { email: `e-${uniq()}@example.com`, returnCode: {} },
          phone: { phone: "+41795550196", isVerified: true },
          metadata: [
            { key: "team", value: b64("blue") },
            { key: "level", value: b64("3") },
          ],
        }),
        world.ian.token,
      );
      assertOk(res);
      const id = res.body.userId;
      const events = await inspector.events(id);
      assert.deepEqual(
        events.map((e) => e.type),
        ["user.human.added", "user.human.email.code.added", "user.human.phone.verified", "user.metadata.set", "user.metadata.set"],
      );
      assert.deepEqual(events.map((e) => Number(e.sequence)), [1, 2, 3, 4, 5]);
      for (const e of events) {
        assert.equal(e.actorId, events[0]!.actorId);
        assert.equal(e.orgId, world.acme);
        assert.equal(e.aggregateId, id);
      }
      const metaPayloads = events.filter((e) => e.type === "user.metadata.set").map((e) => e.payload);
      assert.deepEqual(
        metaPayloads.map((p) => [p.key, Buffer.from(String(p.value), "base64").toString()]),
        [["team", "blue"], ["level", "3"]],
      );
      const stored = await inspector.store.read.getMetadata(id);
      assert.deepEqual(stored.map((r) => [r.key, Buffer.from(r.value).toString()]).sort(), [["level", "3"], ["team", "blue"]]);
      assert.equal(res.body.details.sequence, "5");
      assert.equal(res.headers.get("etag"), '"5"');
      assert.equal(res.body.details.resourceOwner, world.acme);
      assert.ok(!Number.isNaN(Date.parse(res.body.details.changeDate)));
      assert.equal(res.body.details.creationDate, undefined);
      assert.equal((await inspector.user(id))?.sequence, 5);
    });

    test("metadata: a later entry with the same key wins", async () => {
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const res = await add(
        newHuman({ metadata: [{ key: "team", value: b64("red") }, { key: "team", value: b64("blue") }] }),
        world.ian.token,
      );
      assertOk(res);
      const stored = await inspector.store.read.getMetadata(res.body.userId);
      assert.deepEqual(stored.map((r) => [r.key, Buffer.from(r.value).toString()]), [["team", "blue"]]);
      const lastSet = (await inspector.events(res.body.userId)).filter((e) => e.type === "user.metadata.set").at(-1);
      assert.equal(Buffer.from(String(lastSet?.payload.value), "base64").toString(), "blue");
    });

    test("no secret (password, code) appears in any event payload", async () => {
      const res = await add(
        newHuman({ email: { email: `x-${uniq()}@example.com`, returnCode: {} }, password: { password: "Secret-Passw0rd!" } }),
        world.ian.token,
      );
      assertOk(res);
      const text = JSON.stringify(await inspector.events(res.body.userId));
      assert.ok(!text.includes("Secret-Passw0rd!"));
      assert.ok(!text.includes(res.body.emailCode));
      assert.ok(!text.includes("$2"));
    });

    test("the creator is recorded as the actor of every event", async () => {
      const res = await add(newHuman({ organization: { orgId: world.acme } }), world.olga.token);
      assertOk(res);
      const events = await inspector.events(res.body.userId);
      assert.ok(events.length >= 2);
      for (const e of events) assert.equal(e.actorId, world.olga.id);
    });
  });
});
