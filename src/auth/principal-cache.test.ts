import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PrincipalCache } from "./principal-cache.js";

const principal = (userId: string) => ({ principal: { userId, orgId: "o", memberships: [] }, expiresAt: null });

describe("principal cache", () => {
  test("an entry is used until its time to live has passed, then it is gone", () => {
    let t = 0;
    const cache = new PrincipalCache({ maxEntries: 10, ttlMs: 1000, clock: () => t });
    cache.set("k", principal("u1"), cache.begin());
    t = 999;
    assert.equal(cache.get("k")?.principal.userId, "u1");
    t = 1000;
    assert.equal(cache.get("k"), undefined);
    assert.equal(cache.size, 0);
  });

  test("bounded: the least recently used entry goes first", () => {
    const cache = new PrincipalCache({ maxEntries: 2, ttlMs: 1000, clock: () => 0 });
    cache.set("a", principal("ua"), cache.begin());
    cache.set("b", principal("ub"), cache.begin());
    assert.ok(cache.get("a"));
    cache.set("c", principal("uc"), cache.begin());
    assert.equal(cache.size, 2);
    assert.equal(cache.get("b"), undefined);
    assert.ok(cache.get("a"));
    assert.ok(cache.get("c"));
  });

  test("invalidating a user drops its entries only; undefined drops all", () => {
    const cache = new PrincipalCache({ maxEntries: 10, ttlMs: 1000, clock: () => 0 });
    cache.set("p:1", principal("u1"), cache.begin());
    cache.set("j:u1", principal("u1"), cache.begin());
    cache.set("p:2", principal("u2"), cache.begin());
    cache.invalidate("u1");
    assert.equal(cache.get("p:1"), undefined);
    assert.equal(cache.get("j:u1"), undefined);
    assert.ok(cache.get("p:2"));
    cache.invalidate(undefined);
    assert.equal(cache.size, 0);
  });

  test("a lookup that began before an invalidation is not cached", () => {
    const cache = new PrincipalCache({ maxEntries: 10, ttlMs: 1000, clock: () => 0 });
    const ticket = cache.begin();
    cache.invalidate("u1");
    cache.set("p:1", principal("u1"), ticket);
    assert.equal(cache.get("p:1"), undefined);
    cache.set("p:1", principal("u1"), cache.begin());
    assert.ok(cache.get("p:1"));
  });

  test("zero entries: nothing is cached", () => {
    const cache = new PrincipalCache({ maxEntries: 0, ttlMs: 1000 });
    cache.set("k", principal("u1"), cache.begin());
    assert.equal(cache.get("k"), undefined);
  });
});
