/**
 * AddHumanUser on the in-memory store (contract.md §9.1): the order of its checks one row each,
 * the organization and its permission, id and username (trimmed, V2-zzad3), profile defaults,
 * email and phone codes, passwords, metadata events, and a deleted user's id given again.
 * Every row starts from the cast of update-human-user.md §12 (seedExampleCast).
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import bcrypt from "bcrypt";
import { hashCode } from "../../src/domain/codes/code.js";
import { addHumanUser, type AddHumanUserInput, type AddHumanUserResult } from "../../src/domain/users/add-human.js";
import type { EmailVerification, PhoneVerification } from "../../src/domain/users/inputs.js";
import { open } from "../../src/notify/sealed-payload.js";
import { createDomainWorld, rejectsWith, seedExampleCast, type DomainWorld } from "../support/domain-harness.js";

const VERIFIED = { kind: "verified", value: true } as const;
const NOT_VERIFIED = { kind: "verified", value: false } as const;
const RETURN = { kind: "return" } as const;
const SEND = { kind: "send" } as const;
const NONE = { kind: "none" } as const;

let w: DomainWorld;
const importedHash = bcrypt.hashSync("Imported-Pass-1", 4);

beforeEach(async () => {
  w = await createDomainWorld();
  await seedExampleCast(w);
  // a membership on acme whose role grants nothing there (an instance role on an organization)
  await w.user({ id: "vera", username: "vera" });
  await w.grant("vera", "acme", ["IAM_OWNER"]);
});

/** A valid request for Grace in acme; `extra` replaces top-level fields. */
const grace = (extra: Partial<AddHumanUserInput> = {}): AddHumanUserInput => ({
  userId: "grace",
  username: "grace",
  organization: { orgId: "acme" },
  profile: { givenName: "Grace", familyName: "Hopper" },
  email: { email: "grace@acme.example", verification: VERIFIED },
  metadata: [],
  idpLinkCount: 0,
  ...extra,
});

const add = async (caller: string, input: AddHumanUserInput): Promise<AddHumanUserResult> => addHumanUser(w.deps, await w.principal(caller), input);

/** The new user's events after sequence `after`: types in order, numbered on from it, one time, one actor. */
async function expectEvents(result: AddHumanUserResult, types: string[], actor: string, after = 0) {
  const events = (await w.events(result.userId)).filter((e) => e.sequence > after);
  assert.deepEqual(
    events.map((e) => e.type),
    types,
  );
  assert.deepEqual(
    events.map((e) => e.sequence),
    types.map((_, i) => after + i + 1),
  );
  const user = await w.stored(result.userId);
  assert.equal(result.details.sequence, after + types.length);
  assert.equal(user.sequence, result.details.sequence);
  assert.equal(result.details.resourceOwner, user.orgId);
  assert.deepEqual(result.details.changeDate, user.changedAt);
  for (const e of events) {
    assert.deepEqual(e.createdAt, result.details.changeDate);
    assert.equal(e.actorId, actor);
    assert.equal(e.orgId, user.orgId);
    assert.equal(e.aggregateType, "user");
    assert.equal(e.payload.userId, result.userId);
  }
  return { events, user };
}

describe("AddHumanUser: the order of its checks (contract.md §9.1), one row per step", () => {
  // every row also breaks every later step; the new user would take Bob's id
  const later: Partial<AddHumanUserInput> = { userId: "bob", username: "BOB", password: { kind: "plain", password: "weakpass", changeRequired: false }, idpLinkCount: 1 };
  const badPhone = { phone: { phone: "abc", verification: NONE } };
  const rows: { step: string; caller: string; input: AddHumanUserInput; id: string }[] = [
    {
      step: "2 a malformed email URL template",
      caller: "ian",
      input: grace({ ...later, ...badPhone, email: { email: "Grace <g@x.example>", verification: { kind: "send", urlTemplate: "https://x.example/{{" } }, totpSecret: "x" }),
      id: "DOMAIN-oGh5e",
    },
    {
      step: "2 an unsupported URL template action",
      caller: "ian",
      input: grace({ ...later, ...badPhone, email: { email: "Grace <g@x.example>", verification: { kind: "send", urlTemplate: "https://x.example/{{.Lang}}" } } }),
      id: "DOMAIN-ieYa7",
    },
    { step: "2 an email with a display name", caller: "ian", input: grace({ ...later, ...badPhone, email: { email: "Grace <g@x.example>", verification: NONE } }), id: "EMAIL-599GV" },
    { step: "2 not an email address", caller: "ian", input: grace({ ...later, ...badPhone, email: { email: "grace", verification: NONE } }), id: "EMAIL-599BI" },
    { step: "2 a phone that does not parse", caller: "ian", input: grace({ ...later, ...badPhone, password: { kind: "hashed", hash: "$1$x$y", changeRequired: false } }), id: "PHONE-so0wa" },
    { step: "2 a hash that is not bcrypt", caller: "ian", input: grace({ ...later, password: { kind: "hashed", hash: "$1$x$y", changeRequired: false }, profile: { givenName: " ", familyName: " " } }), id: "USER-oz74onzvqr" },
    { step: "2 a password over 72 bytes", caller: "ian", input: grace({ ...later, password: { kind: "plain", password: "Aa1!" + "x".repeat(69), changeRequired: false }, profile: { givenName: " ", familyName: " " } }), id: "ROSTER-pw072" },
    { step: "2 a blank given name", caller: "ian", input: grace({ ...later, profile: { givenName: " \t", familyName: " " }, username: " " }), id: "USER-UCej2" },
    { step: "2 a blank family name", caller: "ian", input: grace({ ...later, profile: { givenName: "Grace", familyName: " " }, username: " " }), id: "USER-4hB7d" },
    { step: "2 a username blank after trimming", caller: "ian", input: grace({ ...later, username: "\u3000 ", totpSecret: "x" }), id: "V2-zzad3" },
    { step: "2 a TOTP secret", caller: "ian", input: grace({ ...later, totpSecret: "JBSWY3DPEHPK3PXP", organization: { orgId: "nope" } }), id: "ROSTER-unimp" },
    { step: "1 an unknown organization", caller: "gus", input: grace({ ...later, organization: { orgId: "nope" } }), id: "AUTH-Bs7Ds" },
    { step: "1 an organization domain (Roster has none)", caller: "ian", input: grace({ ...later, organization: { orgDomain: "acme.example" } }), id: "AUTH-Bs7Ds" },
    { step: "1 an unknown x-zitadel-orgid", caller: "ian", input: grace({ ...later, organization: undefined, orgIdHeader: "nope" }), id: "AUTH-Bs7Ds" },
    { step: "1 no membership on the organization", caller: "gus", input: grace(later), id: "AUTHZ-cdgFk" },
    { step: "1 no membership at all, in one's own organization", caller: "ada", input: grace({ ...later, organization: undefined }), id: "AUTHZ-cdgFk" },
    { step: "1 a membership whose roles grant no user.write", caller: "vera", input: grace(later), id: "AUTH-5mWD2" },
    { step: "3 an id held by a live user", caller: "olga", input: grace(later), id: "COMMAND-7yiox1isql" },
    { step: "4 a username taken, in other case", caller: "olga", input: grace({ ...later, userId: "grace" }), id: "V3-DKcYh" },
    { step: "8 the password policy, after id and username", caller: "olga", input: grace({ ...later, userId: "grace", username: "grace" }), id: "DOMAIN-VoaRj" },
    { step: "9 IDP links", caller: "olga", input: grace({ ...later, userId: "grace", username: "grace", password: undefined }), id: "COMMAND-39nf2" },
  ];
  for (const row of rows) {
    test(`${row.step} → ${row.id}, nothing written`, async () => {
      const bob = await w.snapshot("bob");
      const graceBefore = await w.snapshot("grace");
      await rejectsWith(add(row.caller, row.input), row.id);
      await w.assertUnchanged(bob);
      await w.assertUnchanged(graceBefore);
      assert.equal(await w.store.read.usernameTaken("grace"), false);
      assert.equal(w.store.notifications().length, 0);
    });
  }
});

describe("AddHumanUser: organization (auth.md §4, §5)", () => {
  const rows: { name: string; caller: string; input: Partial<AddHumanUserInput>; org: string }[] = [
    { name: "organization.orgId wins over the header and the caller's own", caller: "ian", input: { organization: { orgId: "globex" }, orgIdHeader: "acme" }, org: "globex" },
    { name: "x-zitadel-orgid when organization is absent", caller: "ian", input: { organization: undefined, orgIdHeader: "globex" }, org: "globex" },
    { name: "an empty x-zitadel-orgid counts as absent: the caller's own", caller: "olga", input: { organization: undefined, orgIdHeader: "" }, org: "acme" },
    { name: "without both: the caller's own organization", caller: "gus", input: { organization: undefined }, org: "globex" },
    { name: "an ORG_USER_MANAGER in its organization", caller: "olga", input: {}, org: "acme" },
  ];
  for (const row of rows) {
    test(`${row.name} → ${row.org}`, async () => {
      const result = await add(row.caller, grace(row.input));
      assert.equal((await w.stored("grace")).orgId, row.org);
      await expectEvents(result, ["user.human.added", "user.human.email.verified"], row.caller);
    });
  }
});

describe("AddHumanUser: id and username", () => {
  test("a generated id is an 18-digit decimal string", async () => {
    const result = await add("olga", grace({ userId: undefined }));
    assert.match(result.userId, /^[1-9][0-9]{17}$/);
    assert.equal((await w.stored(result.userId)).username, "grace");
  });

  test("the username defaults to the email address, stored as sent", async () => {
    const result = await add("olga", grace({ username: undefined, email: { email: "Grace.Hopper@Navy.example", verification: VERIFIED } }));
    assert.equal((await w.stored(result.userId)).username, "Grace.Hopper@Navy.example");
    await rejectsWith(add("olga", grace({ userId: "g2", username: undefined, email: { email: "grace.hopper@navy.EXAMPLE", verification: VERIFIED } })), "V3-DKcYh");
  });

  const spaced: [string, string][] = [
    ["spaces", "  grace  "],
    ["tabs and newlines", "\tgrace\n"],
    ["ideographic and no-break spaces", "\u3000grace\u00a0"],
  ];
  for (const [label, username] of spaced) {
    test(`a username with surrounding ${label} is stored trimmed`, async () => {
      const result = await add("olga", grace({ username }));
      const { events, user } = await expectEvents(result, ["user.human.added", "user.human.email.verified"], "olga");
      assert.equal(user.username, "grace");
      assert.equal(events[0]!.payload.username, "grace");
    });
  }

  for (const [label, username] of [
    ["spaces", "   "],
    ["a tab", "\t"],
    ["next line and line separator", "\u0085\u2028"],
  ] as const) {
    test(`a username of ${label} only → INVALID_ARGUMENT V2-zzad3, nothing written`, async () => {
      await rejectsWith(add("olga", grace({ username })), "V2-zzad3", "InvalidArgument");
      assert.equal(await w.store.read.getUser("grace"), undefined);
    });
  }

  test("inner white space and case are kept; uniqueness is checked on the trimmed name", async () => {
    await add("olga", grace({ username: " Grace  Hopper " }));
    assert.equal((await w.stored("grace")).username, "Grace  Hopper");
    await rejectsWith(add("olga", grace({ userId: "g2", username: "grace  hopper" })), "V3-DKcYh");
  });

  test("a deleted user's id may be given again: its events continue that id's sequence; its name is free", async () => {
    await w.user({ id: "old", username: "oldname", sequence: 4, givenName: "Old" });
    const old = await w.stored("old");
    await w.store.transaction(async (tx) => {
      await tx.updateUser({ ...old, state: "deleted", sequence: 5 });
      await tx.appendEvents([{ aggregateType: "user", aggregateId: "old", sequence: 5, type: "user.removed", payload: { userId: "old" }, actorId: "ian", orgId: "acme", createdAt: w.clock.now() }]);
    });
    w.clock.advance(60_000);
    const result = await add("olga", grace({ userId: "old", username: "OLDNAME", email: { email: "new@acme.example", verification: RETURN } }));
    const { user } = await expectEvents(result, ["user.human.added", "user.human.email.code.added"], "olga", 5);
    assert.equal(result.details.sequence, 7);
    assert.deepEqual(
      [user.state, user.username, user.givenName, user.email, user.emailVerified],
      ["active", "OLDNAME", "Grace", "new@acme.example", false],
    );
    assert.deepEqual(user.createdAt, result.details.changeDate);
    assert.deepEqual(
      (await w.events("old")).map((e) => [e.sequence, e.type]),
      [
        [4, "user.human.added"],
        [5, "user.removed"],
        [6, "user.human.added"],
        [7, "user.human.email.code.added"],
      ],
    );
  });
});

describe("AddHumanUser: profile defaults (§9.1 step 5)", () => {
  const rows: { name: string; profile: AddHumanUserInput["profile"]; stored: [string, string, string, string, string, number] }[] = [
    { name: "display name, language and gender absent", profile: { givenName: "Grace", familyName: "Hopper" }, stored: ["Grace", "Hopper", "", "Grace Hopper", "und", 0] },
    { name: "an empty display name and language", profile: { givenName: "Grace", familyName: "Hopper", displayName: "", preferredLanguage: "" }, stored: ["Grace", "Hopper", "", "Grace Hopper", "und", 0] },
    { name: "names trimmed, display name made of the trimmed names", profile: { givenName: "  Grace ", familyName: "\tHopper " }, stored: ["Grace", "Hopper", "", "Grace Hopper", "und", 0] },
    {
      name: "everything given: kept, the language canonicalised",
      profile: { givenName: "Grace", familyName: "Hopper", nickName: "Amazing", displayName: "Rear Admiral Hopper", preferredLanguage: "EN-us", gender: 1 },
      stored: ["Grace", "Hopper", "Amazing", "Rear Admiral Hopper", "en-US", 1],
    },
    { name: "an ill-formed language and an unknown gender", profile: { givenName: "Grace", familyName: "Hopper", preferredLanguage: "english!", gender: 9 }, stored: ["Grace", "Hopper", "", "Grace Hopper", "und", 0] },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const result = await add("olga", grace({ profile: row.profile }));
      const { events, user } = await expectEvents(result, ["user.human.added", "user.human.email.verified"], "olga");
      assert.deepEqual([user.givenName, user.familyName, user.nickName, user.displayName, user.preferredLanguage, user.gender], row.stored);
      assert.equal(user.state, "active");
      assert.equal(user.type, "human");
      const [added] = events;
      assert.deepEqual(added!.payload, {
        userId: "grace",
        username: "grace",
        givenName: row.stored[0],
        familyName: row.stored[1],
        nickName: row.stored[2],
        displayName: row.stored[3],
        preferredLanguage: row.stored[4],
        gender: row.stored[5],
        email: "grace@acme.example",
        phone: "",
        hasPassword: false,
        passwordChangeRequired: false,
      });
    });
  }
});

describe("AddHumanUser: email and phone codes (§9.1 steps 6, 7; codes.md)", () => {
  const rows: {
    name: string;
    email: EmailVerification;
    phone?: { phone: string; verification: PhoneVerification };
    events: string[];
    returned: { email: boolean; phone: boolean };
    sent: [string, string, string][];
    verified: [boolean, boolean];
    phoneStored: string;
  }[] = [
    { name: "email verified, no phone", email: VERIFIED, events: ["user.human.added", "user.human.email.verified"], returned: { email: false, phone: false }, sent: [], verified: [true, false], phoneStored: "" },
    { name: "email is_verified false: a code is mailed", email: NOT_VERIFIED, events: ["user.human.added", "user.human.email.code.added"], returned: { email: false, phone: false }, sent: [["email", "grace@acme.example", "email"]], verified: [false, false], phoneStored: "" },
    { name: "email without verification: a code is mailed", email: NONE, events: ["user.human.added", "user.human.email.code.added"], returned: { email: false, phone: false }, sent: [["email", "grace@acme.example", "email"]], verified: [false, false], phoneStored: "" },
    { name: "email return_code: returned, nothing mailed", email: RETURN, events: ["user.human.added", "user.human.email.code.added"], returned: { email: true, phone: false }, sent: [], verified: [false, false], phoneStored: "" },
    { name: "an empty phone means no phone", email: VERIFIED, phone: { phone: "", verification: RETURN }, events: ["user.human.added", "user.human.email.verified"], returned: { email: false, phone: false }, sent: [], verified: [true, false], phoneStored: "" },
    {
      name: "phone verified, normalised to E.164",
      email: VERIFIED,
      phone: { phone: "079 555 01 96", verification: { kind: "verified" } },
      events: ["user.human.added", "user.human.email.verified", "user.human.phone.verified"],
      returned: { email: false, phone: false },
      sent: [],
      verified: [true, true],
      phoneStored: "+41795550196",
    },
    {
      name: "phone return_code: returned, no SMS",
      email: RETURN,
      phone: { phone: "+41795550196", verification: RETURN },
      events: ["user.human.added", "user.human.email.code.added", "user.human.phone.code.added"],
      returned: { email: true, phone: true },
      sent: [],
      verified: [false, false],
      phoneStored: "+41795550196",
    },
    {
      name: "phone send_code or nothing: an SMS",
      email: SEND,
      phone: { phone: "+41 79 555 01 96", verification: SEND },
      events: ["user.human.added", "user.human.email.code.added", "user.human.phone.code.added"],
      returned: { email: false, phone: false },
      sent: [
        ["email", "grace@acme.example", "email"],
        ["sms", "+41795550196", "phone"],
      ],
      verified: [false, false],
      phoneStored: "+41795550196",
    },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const result = await add("olga", grace({ email: { email: "grace@acme.example", verification: row.email }, phone: row.phone }));
      await expectEvents(result, row.events, "olga");
      const user = await w.stored("grace");
      assert.deepEqual([user.emailVerified, user.phoneVerified], row.verified);
      assert.equal(user.phone, row.phoneStored);
      assert.equal(result.emailCode !== undefined, row.returned.email);
      assert.equal(result.phoneCode !== undefined, row.returned.phone);
      assert.deepEqual(
        w.notifications("grace").map((n) => [n.channel, n.recipient, n.purpose]),
        row.sent,
      );
      for (const [purpose, code] of [
        ["email", result.emailCode],
        ["phone", result.phoneCode],
      ] as const) {
        const stored = await w.store.read.getCode("grace", purpose);
        if (code) {
          assert.match(code, /^[A-Z0-9]{6}$/);
          assert.deepEqual(stored?.hash, hashCode(w.deps.keys.codeHmac, purpose, "grace", code), "stored only as its hash");
          assert.equal(stored?.delivery, "returned");
        }
      }
      assert.equal((await w.store.read.getCode("grace", "email")) !== undefined, row.email.kind !== "verified" || !row.email.value);
      assert.equal((await w.store.read.getCode("grace", "phone")) !== undefined, !!row.phone && row.phone.phone !== "" && row.phone.verification.kind !== "verified");
      const text = JSON.stringify(await w.events("grace"));
      for (const code of [result.emailCode, result.phoneCode]) if (code) assert.ok(!text.includes(code), "no code in an event");
    });
  }

  test("send_code with a URL template: the template is stored and rendered into the sealed mail", async () => {
    const template = "https://id.acme.example/verify?user={{.UserID}}&code={{.Code}}&org={{ .OrgID }}";
    const result = await add("olga", grace({ email: { email: "grace@acme.example", verification: { kind: "send", urlTemplate: template } } }));
    const { events } = await expectEvents(result, ["user.human.added", "user.human.email.code.added"], "olga");
    assert.equal(events[1]!.payload.urlTemplate, template);
    assert.equal(events[1]!.payload.delivery, "sent");
    assert.equal((await w.store.read.getCode("grace", "email"))?.urlTemplate, template);
    const [mail] = w.notifications("grace");
    const sealed = open(w.deps.keys.notificationAead, mail!.encryptedPayload) as { code: string; link: string };
    assert.equal(sealed.link, `https://id.acme.example/verify?user=grace&code=${sealed.code}&org=acme`);
    assert.deepEqual((await w.store.read.getCode("grace", "email"))?.hash, hashCode(w.deps.keys.codeHmac, "email", "grace", sealed.code));
  });

  test("a code lives for the configured hour from the write", async () => {
    const result = await add("olga", grace({ email: { email: "grace@acme.example", verification: RETURN } }));
    const code = (await w.store.read.getCode("grace", "email"))!;
    assert.equal(code.expiresAt.getTime() - code.createdAt.getTime(), 3600_000);
    assert.deepEqual(code.createdAt, result.details.changeDate);
  });
});

describe("AddHumanUser: passwords (§9.1 step 8)", () => {
  test("a plain password is bcrypt-hashed: it verifies, and change_required is kept", async () => {
    const result = await add("olga", grace({ password: { kind: "plain", password: "Secret-Passw0rd!", changeRequired: true } }));
    const { events, user } = await expectEvents(result, ["user.human.added", "user.human.email.verified"], "olga");
    assert.match(user.passwordHash!, /^\$2b\$04\$/);
    assert.equal(await w.deps.hasher.verify("Secret-Passw0rd!", user.passwordHash!), true);
    assert.equal(user.passwordChangeRequired, true);
    assert.deepEqual(user.passwordChangedAt, result.details.changeDate);
    assert.equal(events[0]!.payload.hasPassword, true);
    assert.equal(events[0]!.payload.passwordChangeRequired, true);
    const text = JSON.stringify(events);
    assert.ok(!text.includes("Secret-Passw0rd!") && !text.includes("$2"), "no password or hash in an event");
  });

  test("a hashed password is stored verbatim without the policy", async () => {
    const result = await add("olga", grace({ password: { kind: "hashed", hash: importedHash, changeRequired: false } }));
    const user = await w.stored(result.userId);
    assert.equal(user.passwordHash, importedHash);
    assert.equal(await w.deps.hasher.verify("Imported-Pass-1", user.passwordHash!), true);
  });

  test("no password: the user has none", async () => {
    const result = await add("olga", grace());
    const user = await w.stored(result.userId);
    assert.deepEqual([user.passwordHash, user.passwordChangedAt, user.passwordChangeRequired], [null, null, false]);
  });

  for (const [password, id] of [
    ["Short1!", "DOMAIN-HuJf6"],
    ["NOLOWER1!", "DOMAIN-co3Xw"],
    ["noupper1!", "DOMAIN-VoaRj"],
    ["NoNumber!", "DOMAIN-ZBv4H"],
    ["NoSymbol1", "DOMAIN-ZDLwA"],
  ] as const) {
    test(`the policy applies to a plain password: ${password} → ${id}`, async () => {
      await rejectsWith(add("olga", grace({ password: { kind: "plain", password, changeRequired: false } })), id, "InvalidArgument");
      assert.equal(await w.store.read.getUser("grace"), undefined);
    });
  }
});

describe("AddHumanUser: metadata (§9.1 steps 9, 10)", () => {
  test("one user.metadata.set per entry, after the contact events; the store keeps the last value of a key", async () => {
    const result = await add(
      "ian",
      grace({
        email: { email: "grace@acme.example", verification: RETURN },
        phone: { phone: "+41795550196", verification: { kind: "verified" } },
        metadata: [
          { key: "team", value: Buffer.from("red") },
          { key: "level", value: new Uint8Array([0, 255]) },
          { key: "team", value: Buffer.from("blue") },
        ],
      }),
    );
    const { events } = await expectEvents(
      result,
      ["user.human.added", "user.human.email.code.added", "user.human.phone.verified", "user.metadata.set", "user.metadata.set", "user.metadata.set"],
      "ian",
    );
    assert.deepEqual(
      events.slice(3).map((e) => [e.payload.key, e.payload.value]),
      [
        ["team", Buffer.from("red").toString("base64")],
        ["level", Buffer.from([0, 255]).toString("base64")],
        ["team", Buffer.from("blue").toString("base64")],
      ],
    );
    assert.deepEqual(await w.store.read.getMetadata("grace"), [
      { key: "level", value: Buffer.from([0, 255]) },
      { key: "team", value: Buffer.from("blue") },
    ]);
  });

  test("a failing request stores no metadata", async () => {
    await rejectsWith(add("olga", grace({ username: "bob", metadata: [{ key: "k", value: Buffer.from("v") }] })), "V3-DKcYh");
    assert.deepEqual(await w.store.read.getMetadata("grace"), []);
  });
});

describe("AddHumanUser: the details answered", () => {
  test("details are the new user's: sequence of its last event, its organization, the time of the write on the deps' clock", async () => {
    w.clock.advance(24 * 3600_000);
    const from = w.clock.now();
    const result = await add("olga", grace());
    const to = w.clock.now();
    await expectEvents(result, ["user.human.added", "user.human.email.verified"], "olga");
    assert.deepEqual((await w.stored("grace")).createdAt, result.details.changeDate);
    assert.ok(from <= result.details.changeDate && result.details.changeDate <= to, "stamped by the clock the test moved");
  });
});
