/**
 * Helpers shared by the UpdateHumanUser behaviour tests: calls, snapshots of everything a request
 * may write, and assertions on REST success and error bodies.
 */
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import type { CodePurpose, CodeRecord, EventRecord, UserRecord } from "../../src/domain/store.js";
import { rest, type RestResponse, type World } from "./fixtures.js";
import type { Inspector } from "./inspect.js";
import type { TestRoster } from "./roster.js";

export const NOT_FOUND_ID = "COMMAND-ugjs0upun6";
export const DENIED_ID = "AUTHZ-HKJD33";

/** What a request may change: compared whole to prove that nothing was written. */
export interface Snapshot {
  sequence: number;
  events: EventRecord[];
  user: UserRecord | undefined;
  codes: Record<CodePurpose, CodeRecord | undefined>;
  notifications: number;
}

export function expectOk(res: RestResponse, sequence: number): void {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.details.sequence, String(sequence));
  assert.equal(res.headers.get("etag"), `"${sequence}"`);
  assert.equal(res.body.details.creationDate, undefined);
}

export function expectError(res: RestResponse, status: number, grpcCode: number, id?: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, grpcCode, JSON.stringify(res.body));
  if (id) {
    assert.equal(res.body.details?.[0]?.id, id, JSON.stringify(res.body));
    assert.ok(res.body.message.endsWith(`(${id})`), res.body.message);
  } else {
    assert.equal(res.body.details, undefined);
  }
  assert.equal(res.headers.get("etag"), null);
}

/** Helpers bound to one test file's Roster and inspector (resolved lazily, after `before`). */
export function updateHarness(ctx: () => { roster: TestRoster; inspector: Inspector }) {
  const update = (userId: string, token: string | undefined, body: unknown, headers?: Record<string, string>): Promise<RestResponse> =>
    rest(ctx().roster, "PUT", `/v2/users/human/${userId}`, { token, body, headers });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const readUser = async (userId: string): Promise<any> => {
    const { roster } = ctx();
    const r = await rest(roster, "GET", `/v2/users/${userId}`, { token: roster.adminToken });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  const snapshot = async (userId: string): Promise<Snapshot> => {
    const { inspector } = ctx();
    const read = await readUser(userId);
    return {
      sequence: Number(read.details.sequence),
      events: await inspector.events(userId),
      user: await inspector.user(userId),
      codes: {
        email: await inspector.code(userId, "email"),
        phone: await inspector.code(userId, "phone"),
        password_reset: await inspector.code(userId, "password_reset"),
      },
      notifications: (await inspector.notifications(userId)).length,
    };
  };

  /** No event, no sequence change, no state, code or notification change. */
  const assertNothingWritten = async (userId: string, before: Snapshot): Promise<void> => {
    assert.deepEqual(await snapshot(userId), before);
  };

  const eventsSince = async (userId: string, before: Snapshot): Promise<EventRecord[]> =>
    (await ctx().inspector.events(userId)).slice(before.events.length);

  const assertNewEvents = async (userId: string, before: Snapshot, types: string[]): Promise<EventRecord[]> => {
    const events = await eventsSince(userId, before);
    assert.deepEqual(
      events.map((e) => e.type),
      types,
    );
    events.forEach((e, i) => assert.equal(e.sequence, before.sequence + i + 1));
    return events;
  };

  const verifiesAgainstStored = async (userId: string, password: string): Promise<boolean> => {
    const hash = (await ctx().inspector.user(userId))!.passwordHash;
    assert.ok(hash);
    return bcrypt.compare(password, hash.replace(/^\$2y\$/, "$2b$"));
  };

  const passwordResetCode = async (w: World): Promise<string> => {
    const r = await rest(ctx().roster, "POST", `/v2/users/${w.ada.id}/password_reset`, { token: w.olga.token, body: { returnCode: {} } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.verificationCode, /^[A-Z0-9]{6}$/);
    return r.body.verificationCode;
  };

  return { update, readUser, snapshot, assertNothingWritten, eventsSince, assertNewEvents, verifiesAgainstStored, passwordResetCode };
}
