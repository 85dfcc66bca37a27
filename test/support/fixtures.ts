/**
 * The cast of update-human-user.md §12, created through the public API of a running Roster:
 * organizations Acme and Globex; Ada (Acme, no roles), Bob (Acme, no roles), Olga
 * (ORG_USER_MANAGER of Acme), Gus (ORG_OWNER of Globex), Nora (a user without any role in
 * Globex) and Ian (the first administrator, IAM_OWNER). Every world gets a unique tag, so that
 * several worlds can live in one database without clashing usernames or organization names.
 */
import { randomBytes } from "node:crypto";
import type { TestRoster } from "./roster.js";

export interface RestResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One JSON call on the REST gateway. */
export async function rest(
  roster: Pick<TestRoster, "baseUrl">,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<RestResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(roster.baseUrl + path, { method, headers, body });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json };
}

/** A short random tag for names that must be unique in the deployment. */
export const uniq = (): string => randomBytes(4).toString("hex");

export function assertOk(res: RestResponse): void {
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${JSON.stringify(res.body)}`);
}

/** A minimal valid AddHumanUser body with a unique username and email; `extra` overrides top-level fields. */
export function newHuman(extra: Record<string, unknown> = {}, prefix = "user"): Record<string, unknown> {
  const u = uniq();
  return {
    username: `${prefix}-${u}`,
    profile: { givenName: "Grace", familyName: "Hopper" },
    email: { email: `${prefix}-${u}@example.com`, isVerified: true },
    ...extra,
  };
}

export interface Person {
  id: string;
  username: string;
  token: string;
}

export interface World {
  tag: string;
  acme: string;
  globex: string;
  ada: Person;
  bob: Person;
  olga: Person;
  gus: Person;
  nora: Person;
  /** The first administrator (machine user with IAM_OWNER). */
  ian: { token: string };
  /** Ada's pending phone code as returned at creation (her phone is unverified). */
  adaPhoneCode: string;
}

export const ADA_PASSWORD = "Analytical-1843";

function human(username: string, given: string, family: string, extra: Record<string, unknown> = {}) {
  return {
    username,
    profile: { givenName: given, familyName: family },
    email: { email: `${username}@example.com`, isVerified: true },
    password: { password: "Initial-Passw0rd" },
    ...extra,
  };
}

async function ok(res: Promise<RestResponse>, what: string): Promise<RestResponse> {
  const r = await res;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

export async function createWorld(roster: TestRoster): Promise<World> {
  const tag = randomBytes(4).toString("hex");
  const admin = roster.adminToken;
  const name = (n: string) => `${n}-${tag}`;

  const acme = await ok(
    rest(roster, "POST", "/v2/organizations", {
      token: admin,
      body: { name: name("Acme"), admins: [{ human: human(name("olga"), "Olga", "Manager"), roles: ["ORG_USER_MANAGER"] }] },
    }),
    "create Acme",
  );
  const globex = await ok(
    rest(roster, "POST", "/v2/organizations", {
      token: admin,
      body: { name: name("Globex"), admins: [{ human: human(name("gus"), "Gus", "Owner") }] },
    }),
    "create Globex",
  );
  const acmeId: string = acme.body.organizationId;
  const globexId: string = globex.body.organizationId;

  const ada = await ok(
    rest(roster, "POST", "/v2/users/human", {
      token: admin,
      body: {
        username: name("ada"),
        organization: { orgId: acmeId },
        profile: {
          givenName: "Ada",
          familyName: "Lovelace",
          nickName: "Countess",
          displayName: "Ada Lovelace",
          preferredLanguage: "en",
          gender: "GENDER_FEMALE",
        },
        email: { email: "ada@acme.example", isVerified: true },
        phone: { phone: "+41795550123", returnCode: {} },
        password: { password: ADA_PASSWORD },
      },
    }),
    "create Ada",
  );
  const bob = await ok(
    rest(roster, "POST", "/v2/users/human", { token: admin, body: { ...human(name("bob"), "Bob", "Builder"), organization: { orgId: acmeId } } }),
    "create Bob",
  );
  const nora = await ok(
    rest(roster, "POST", "/v2/users/human", { token: admin, body: { ...human(name("nora"), "Nora", "Nobody"), organization: { orgId: globexId } } }),
    "create Nora",
  );

  const person = async (id: string, username: string): Promise<Person> => ({ id, username, token: await roster.tokenFor(id) });
  return {
    tag,
    acme: acmeId,
    globex: globexId,
    ada: await person(ada.body.userId, name("ada")),
    bob: await person(bob.body.userId, name("bob")),
    olga: await person(acme.body.createdAdmins[0].userId, name("olga")),
    gus: await person(globex.body.createdAdmins[0].userId, name("gus")),
    nora: await person(nora.body.userId, name("nora")),
    ian: { token: admin },
    adaPhoneCode: ada.body.phoneCode,
  };
}
