/** PasswordReset on the in-memory store: given state + request → events, state, error id. */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { passwordReset, type PasswordResetInput } from "../../src/domain/users/password-reset.js";
import { setPassword } from "../../src/domain/users/set-password.js";
import { createDomainWorld, eventTypes, INSTANCE_SCOPE, rejectsWith, type DomainWorld } from "../support/domain-harness.js";

let w: DomainWorld;
beforeEach(async () => {
  w = await createDomainWorld();
  await w.org("acme");
  await w.org("globex");
  await w.user({ id: "ada" });
  await w.user({ id: "olga" });
  await w.grant("olga", "acme", ["ORG_USER_MANAGER"]);
  await w.user({ id: "gus", orgId: "globex" });
  await w.grant("gus", "globex", ["ORG_OWNER"]);
  await w.user({ id: "ian", type: "machine" });
  await w.grant("ian", INSTANCE_SCOPE, ["IAM_OWNER"]);
});

const reset = async (caller: string, input: Partial<PasswordResetInput> & { userId: string }) =>
  passwordReset(w.deps, await w.principal(caller), { medium: { kind: "default" }, ...input });

describe("PasswordReset (contract.md §9.6)", () => {
  const refusals: { name: string; caller: string; input: PasswordResetInput; setup?: () => Promise<void>; id: string }[] = [
    { name: "unknown user", caller: "ian", input: { userId: "nobody", medium: { kind: "default" } }, id: "COMMAND-SAF4f" },
    { name: "machine user", caller: "ian", input: { userId: "ian", medium: { kind: "default" } }, id: "COMMAND-SAF4f" },
    {
      name: "user in state initial",
      caller: "olga",
      input: { userId: "ini", medium: { kind: "default" } },
      setup: async () => void (await w.user({ id: "ini", state: "initial" })),
      id: "COMMAND-Sfe4g",
    },
    { name: "a stranger", caller: "gus", input: { userId: "ada", medium: { kind: "default" } }, id: "AUTHZ-HKJD33" },
    { name: "return_code by the user itself (decision 8)", caller: "ada", input: { userId: "ada", medium: { kind: "return" } }, id: "AUTHZ-HKJD33" },
    { name: "stale if-match", caller: "olga", input: { userId: "ada", medium: { kind: "return" }, ifMatch: '"7"' }, id: "ROSTER-seq01" },
    { name: "malformed if-match", caller: "olga", input: { userId: "ada", medium: { kind: "return" }, ifMatch: 'W/"1"' }, id: "ROSTER-seq02" },
    {
      name: "bad URL template, before the user is looked up",
      caller: "olga",
      input: { userId: "nobody", medium: { kind: "link", channel: "email", urlTemplate: "https://x/{{.Nope}}" } },
      id: "DOMAIN-ieYa7",
    },
  ];
  for (const c of refusals) {
    test(`refused: ${c.name} → ${c.id}, nothing written`, async () => {
      await c.setup?.();
      const before = await w.events("ada");
      await rejectsWith(passwordReset(w.deps, await w.principal(c.caller), c.input), c.id);
      assert.deepEqual(await w.events("ada"), before);
      assert.equal(w.store.notifications().length, 0);
    });
  }

  test("return_code by a manager: code returned, event recorded, nothing sent", async () => {
    const r = await reset("olga", { userId: "ada", medium: { kind: "return" } });
    assert.match(r.verificationCode!, /^[A-Z0-9]{6}$/);
    assert.equal(r.details.sequence, 2);
    assert.deepEqual(await eventTypes(w, "ada"), ["user.human.password.code.added"]);
    assert.equal(w.store.notifications().length, 0);
  });

  test("the user itself by default: a mail with the default link is queued", async () => {
    const r = await reset("ada", { userId: "ada" });
    assert.equal(r.verificationCode, undefined);
    const [n] = w.store.notifications();
    assert.equal(n?.channel, "email");
    assert.equal(n?.recipient, "ada@example.com");
    assert.equal(n?.purpose, "password_reset");
  });

  test("a new code replaces the previous one; an expired code is reported as expired", async () => {
    const first = await reset("olga", { userId: "ada", medium: { kind: "return" } });
    const second = await reset("olga", { userId: "ada", medium: { kind: "return" } });
    const use = (code: string) =>
      setPassword(w.deps, { userId: "ada", orgId: "acme", memberships: [] }, {
        userId: "ada",
        password: { newPassword: { kind: "plain", password: "Secret-Pass-1", changeRequired: false }, verification: { kind: "code", code } },
      });
    if (first.verificationCode !== second.verificationCode) await rejectsWith(use(first.verificationCode!), "CODE-woT0xc");
    w.clock.advance(3600 * 1000 + 1);
    await rejectsWith(use(second.verificationCode!), "CODE-QvUQ4P");
  });
});
