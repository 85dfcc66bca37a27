/**
 * ListOrganizations end to end (contract.md §10.1): visibility by `org.read`, every query type,
 * sorting, paging and limits, the details of each organization — over REST
 * (`POST /v2/organizations/_search`), and over gRPC (@zitadel/client, grpc-js with ZITADEL's
 * descriptors) and Connect JSON for a few cases.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { toJson, type DescMethodUnary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createServerTransport } from "@zitadel/client/node";
import { createOrganizationServiceClient } from "@zitadel/client/v2";
import { OrganizationService as ZitadelOrganizationService } from "@zitadel/proto/zitadel/org/v2/org_service_pb.js";
import { sql } from "kysely";
import { OrganizationService } from "../src/gen/zitadel/org/v2/org_service_pb.js";
import { grpcJsUnary } from "./support/clients.js";
import { assertOk, createWorld, rest, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const INVALID_ARGUMENT = 3;
const MINE: [id: string, name: string][] = [
  ["700000000000000001", "Zeta%"],
  ["700000000000000002", "under_score"],
  ["700000000000000003", "Émile & Co"],
  ["700000000000000004", "back\\slash"],
  ["700000000000000005", "alpha"],
];

describe("ListOrganizations", () => {
  let roster: TestRoster;
  let inspector: Inspector;
  let world: World;
  let defaultOrg: string;
  /** id → name of every organization at the start. */
  const names = new Map<string, string>();

  before(async () => {
    roster = await startTestRoster();
    inspector = await openInspector(roster.databaseUrl);
    world = await createWorld(roster);
    for (const [orgId, name] of MINE) {
      assertOk(await rest(roster, "POST", "/v2/organizations", { token: world.ian.token, body: { orgId, name } }));
    }
    const { rows } = await sql<{ id: string; name: string }>`SELECT id, name FROM organizations`.execute(inspector.db);
    for (const r of rows) names.set(r.id, r.name);
    defaultOrg = (await inspector.store.read.getSetting("default_org_id"))!;
  });
  after(async () => {
    await inspector?.close();
    await roster?.close();
  });

  const search = (body: unknown, token = world.ian.token) => rest(roster, "POST", "/v2/organizations/_search", { token, body });
  const listed = (res: RestResponse): string[] => {
    assertOk(res);
    return (res.body.result ?? []).map((o: { name: string }) => o.name);
  };
  const byName = (...queries: unknown[]) => ({ query: { asc: true }, sortingColumn: "ORGANIZATION_FIELD_NAME_NAME", queries });

  function assertError(res: RestResponse, id: string, text: string): void {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, INVALID_ARGUMENT);
    assert.deepEqual(res.body.details, [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id, message: text }]);
  }

  describe("queries", () => {
    const cases: [string, unknown[], string[]][] = [
      ["name EQUALS", [{ nameQuery: { name: "alpha" } }], ["alpha"]],
      ["name EQUALS is case-sensitive", [{ nameQuery: { name: "Alpha" } }], []],
      ["name EQUALS_IGNORE_CASE", [{ nameQuery: { name: "ALPHA", method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }], ["alpha"]],
      ["name STARTS_WITH", [{ nameQuery: { name: "Zet", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }], ["Zeta%"]],
      ["name ENDS_WITH: % is literal", [{ nameQuery: { name: "a%", method: "TEXT_QUERY_METHOD_ENDS_WITH" } }], ["Zeta%"]],
      ["name CONTAINS: _ is literal", [{ nameQuery: { name: "_", method: "TEXT_QUERY_METHOD_CONTAINS" } }], ["under_score"]],
      ["name CONTAINS: \\ is literal", [{ nameQuery: { name: "k\\s", method: "TEXT_QUERY_METHOD_CONTAINS" } }], ["back\\slash"]],
      ["name STARTS_WITH_IGNORE_CASE: Unicode lower case", [{ nameQuery: { name: "éMILE", method: "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE" } }], ["Émile & Co"]],
      ["name CONTAINS_IGNORE_CASE", [{ nameQuery: { name: "SCORE", method: "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE" } }], ["under_score"]],
      ["name ENDS_WITH_IGNORE_CASE", [{ nameQuery: { name: "SLASH", method: "TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE" } }], ["back\\slash"]],
      ["id", [{ idQuery: { id: "700000000000000002" } }], ["under_score"]],
      ["id unknown", [{ idQuery: { id: "999" } }], []],
      ["default: the instance's default organization", [{ defaultQuery: {} }], ["Default"]],
      ["default and a name: AND", [{ defaultQuery: {} }, { nameQuery: { name: "alpha" } }], []],
      ["domain: Roster has no organization domains", [{ domainQuery: { domain: "acme.example" } }], []],
      ["state INACTIVE", [{ stateQuery: { state: "ORGANIZATION_STATE_INACTIVE" } }], []],
      ["state REMOVED", [{ stateQuery: { state: "ORGANIZATION_STATE_REMOVED" } }], []],
      ["state UNSPECIFIED matches nothing", [{ stateQuery: { state: "ORGANIZATION_STATE_UNSPECIFIED" } }], []],
      ["state ACTIVE and a name", [{ stateQuery: { state: "ORGANIZATION_STATE_ACTIVE" } }, { nameQuery: { name: "a", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }], ["alpha"]],
    ];
    for (const [name, queries, expected] of cases) {
      test(name, async () => {
        const res = await search(byName(...queries));
        assert.deepEqual(listed(res), expected);
        assert.equal(res.body.details.totalResult ?? "0", String(expected.length));
      });
    }

    test("state ACTIVE: every organization", async () => {
      const res = await search(byName({ stateQuery: { state: "ORGANIZATION_STATE_ACTIVE" } }));
      assert.equal(listed(res).length, names.size);
    });

    test("a value holding NUL matches nothing", async () => {
      assert.deepEqual(listed(await search(byName({ nameQuery: { name: "a\u0000", method: "TEXT_QUERY_METHOD_CONTAINS" } }))), []);
    });

    test("field rules: an empty query, an empty name, an undefined state", async () => {
      for (const [body, pattern] of [
        [{ queries: [{}] }, /^invalid ListOrganizationsRequest\.Queries\[0\]: .*SearchQuery\.Query: value is required$/],
        [{ queries: [{ nameQuery: { name: "" } }] }, /OrganizationNameQuery\.Name: value length must be between 1 and 200 runes, inclusive$/],
        [{ queries: [{ stateQuery: { state: 7 } }] }, /OrganizationStateQuery\.State: value must be one of the defined enum values$/],
      ] as const) {
        const res = await search(body);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.details, undefined);
        assert.match(res.body.message, pattern);
      }
    });
  });

  describe("sorting and paging", () => {
    const codePointOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

    test("by name, ascending and descending, code point order", async () => {
      const expected = [...names.values()].sort(codePointOrder);
      assert.deepEqual(expected.slice(-5), ["Zeta%", "alpha", "back\\slash", "under_score", "Émile & Co"]);
      const asc = await search({ query: { asc: true }, sortingColumn: "ORGANIZATION_FIELD_NAME_NAME" });
      assert.deepEqual(listed(asc), expected);
      assert.equal(asc.body.sortingColumn, "ORGANIZATION_FIELD_NAME_NAME");
      const desc = await search({ query: { asc: false }, sortingColumn: "ORGANIZATION_FIELD_NAME_NAME" });
      assert.deepEqual(listed(desc), [...expected].reverse());
    });

    test("UNSPECIFIED sorts by id; without query the order is descending", async () => {
      const ids = [...names.keys()].sort(codePointOrder);
      const asc = await search({ query: { asc: true } });
      assertOk(asc);
      assert.deepEqual(asc.body.result.map((o: { id: string }) => o.id), ids);
      assert.equal(asc.body.sortingColumn, undefined);
      const desc = await search({});
      assert.deepEqual(desc.body.result.map((o: { id: string }) => o.id), [...ids].reverse());
    });

    test("offset and limit cut the page; total counts every match", async () => {
      const expected = [...names.values()].sort(codePointOrder);
      const page = await search({ query: { asc: true, offset: "2", limit: 3 }, sortingColumn: "ORGANIZATION_FIELD_NAME_NAME" });
      assert.deepEqual(listed(page), expected.slice(2, 5));
      assert.equal(page.body.details.totalResult, String(names.size));
      const past = await search({ query: { offset: 100, limit: 3 } });
      assert.deepEqual(listed(past), []);
      assert.equal(past.body.details.totalResult, String(names.size));
      assert.equal(listed(await search({ query: { limit: 0 } })).length, names.size);
    });

    test("limit above 1000 → INVALID_ARGUMENT QUERY-4M0fs", async () => {
      assertError(await search({ query: { limit: 1001 } }), "QUERY-4M0fs", "Limit exceeded");
      assertOk(await search({ query: { limit: 1000 } }));
    });
  });

  describe("response", () => {
    test("each organization: id, its own details (events, change date, itself as owner), state, name", async () => {
      const res = await search(byName({ idQuery: { id: world.acme } }));
      assertOk(res);
      const [acme] = res.body.result;
      const events = await inspector.store.read.listEvents(world.acme, "org");
      assert.deepEqual(events.map((e) => e.type), ["org.added", "org.member.added"]);
      assert.equal(acme.id, world.acme);
      assert.equal(acme.name, `Acme-${world.tag}`);
      assert.equal(acme.state, "ORGANIZATION_STATE_ACTIVE");
      assert.equal(acme.primaryDomain, undefined);
      assert.equal(acme.details.sequence, "2");
      assert.equal(acme.details.resourceOwner, world.acme);
      assert.equal(Date.parse(acme.details.changeDate), events[1]!.createdAt.getTime());
      assert.equal(Date.parse(acme.details.creationDate), (await inspector.store.read.getOrg(world.acme))!.createdAt.getTime());
    });

    test("an organization without admins has one event; the default organization has none", async () => {
      const [alpha] = (await search(byName({ nameQuery: { name: "alpha" } }))).body.result;
      assert.equal(alpha.details.sequence, "1");
      const [def] = (await search(byName({ defaultQuery: {} }))).body.result;
      assert.equal(def.id, defaultOrg);
      assert.equal(def.details.sequence, undefined); // 0
      assert.equal(def.details.changeDate, def.details.creationDate);
      assert.equal(def.details.resourceOwner, defaultOrg);
    });

    test("details of the list: total, the newest event's position, the time of the query", async () => {
      const before = Date.now();
      const res = await search({});
      const after = Date.now();
      assertOk(res);
      const { rows } = await sql<{ p: string }>`SELECT max(position)::text AS p FROM events`.execute(inspector.db);
      assert.equal(res.body.details.processedSequence, rows[0]!.p);
      assert.equal(res.body.details.totalResult, String(names.size));
      const at = Date.parse(res.body.details.timestamp);
      assert.ok(at >= before - 1 && at <= after + 1);
    });
  });

  describe("other protocols", () => {
    test("@zitadel/client over gRPC", async () => {
      const client = createOrganizationServiceClient(createServerTransport(world.ian.token, { baseUrl: roster.baseUrl }));
      const res = await client.listOrganizations({
        query: { asc: true, limit: 2 },
        sortingColumn: 1, // NAME
        queries: [{ query: { case: "nameQuery", value: { name: "a", method: 3 } } }], // STARTS_WITH_IGNORE_CASE
      });
      assert.deepEqual(res.result.map((o) => o.name), [`Acme-${world.tag}`, "alpha"]);
      assert.equal(res.details?.totalResult, 2n);
    });

    test("grpc-js with ZITADEL's descriptors: the limit error", async () => {
      const method = ZitadelOrganizationService.method.listOrganizations as DescMethodUnary;
      const r = await grpcJsUnary(roster.port, method, { query: { limit: 5000 } }, { authorization: `Bearer ${world.ian.token}` });
      assert.equal(r.error?.code, INVALID_ARGUMENT);
      assert.equal(decodeURIComponent(r.error!.details), "Limit exceeded (QUERY-4M0fs)");
      const ok = await grpcJsUnary(roster.port, method, { queries: [{ query: { case: "defaultQuery", value: {} } }] }, { authorization: `Bearer ${world.ian.token}` });
      assert.equal(ok.error, undefined);
      assert.deepEqual((toJson(method.output, ok.response as never) as { result: { id: string }[] }).result.map((o) => o.id), [defaultOrg]);
    });

    test("gRPC-web (binary and JSON): an ORG_USER_MANAGER sees its organization", async () => {
      for (const useBinaryFormat of [true, false]) {
        const client = createClient(OrganizationService, createGrpcWebTransport({ baseUrl: roster.baseUrl, httpVersion: "1.1", useBinaryFormat }));
        const res = await client.listOrganizations({ query: { limit: 10 } }, { headers: { authorization: `Bearer ${world.olga.token}` } });
        assert.deepEqual(res.result.map((o) => o.id), [world.acme]);
        assert.equal(res.details?.totalResult, 1n);
      }
    });

    test("Connect JSON: an ORG_OWNER sees its organization", async () => {
      const client = createClient(OrganizationService, createConnectTransport({ baseUrl: roster.baseUrl, httpVersion: "1.1" }));
      const res = await client.listOrganizations({}, { headers: { authorization: `Bearer ${world.gus.token}` } });
      assert.deepEqual(res.result.map((o) => o.id), [world.globex]);
    });
  });

  describe("visibility", () => {
    test("the IAM_OWNER sees every organization", async () => {
      const res = await search({ query: { limit: 1000 } });
      const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM organizations`.execute(inspector.db);
      assert.equal(res.body.details.totalResult, rows[0]!.n);
      assert.equal(listed(res).length, Number(rows[0]!.n));
    });

    test("ORG_USER_MANAGER and ORG_OWNER see their organization only", async () => {
      assert.deepEqual(listed(await search({}, world.olga.token)), [`Acme-${world.tag}`]);
      assert.deepEqual(listed(await search({}, world.gus.token)), [`Globex-${world.tag}`]);
      assert.deepEqual(listed(await search({ queries: [{ idQuery: { id: world.acme } }] }, world.gus.token)), []);
    });

    test("a caller without roles gets an empty list, not an error — not even its own organization", async () => {
      for (const who of [world.ada, world.nora]) {
        const res = await search({}, who.token);
        assertOk(res);
        assert.equal(res.body.result, undefined);
        assert.equal(res.body.details.totalResult, undefined);
      }
    });

    test("a membership on another organization shows that one; a role without org.read shows nothing", async () => {
      const w = await createWorld(roster);
      await inspector.store.transaction(async (tx) => {
        await tx.addMembership({ userId: w.nora.id, scope: w.acme, roles: ["ORG_USER_MANAGER"] });
        await tx.addMembership({ userId: w.bob.id, scope: w.acme, roles: ["PROJECT_VIEWER"] });
      });
      assert.deepEqual(listed(await search({}, w.nora.token)), [`Acme-${w.tag}`]);
      assert.deepEqual(listed(await search({}, w.bob.token)), []);
    });
  });
});
