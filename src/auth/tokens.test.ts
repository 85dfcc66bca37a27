import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hashToken, newPersonalAccessToken, PAT_PREFIX } from "./tokens.js";
import { bearerToken } from "./authenticator.js";
import { createJwtVerifier, isCompactJws } from "./jwt.js";
import { DomainError } from "../domain/errors.js";

describe("personal access tokens", () => {
  it("are prefixed, carry 32 random bytes in base64url and differ every time", () => {
    const a = newPersonalAccessToken();
    const b = newPersonalAccessToken();
    assert.ok(a.token.startsWith(PAT_PREFIX));
    const random = Buffer.from(a.token.slice(PAT_PREFIX.length), "base64url");
    assert.equal(random.length, 32);
    assert.match(a.token.slice(PAT_PREFIX.length), /^[A-Za-z0-9_-]+$/);
    assert.notEqual(a.token, b.token);
  });

  it("are stored as the SHA-256 of the token", () => {
    const { token, hash } = newPersonalAccessToken();
    assert.deepEqual(hash, createHash("sha256").update(token).digest());
    assert.deepEqual(hashToken(token), hash);
    assert.equal(isCompactJws(token), false);
  });
});

function errorId(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DomainError, String(err));
    return `${err.kind}:${err.id}:${err.text}`;
  }
  assert.fail("expected an error");
}

describe("bearerToken", () => {
  it("returns the token after the Bearer prefix", () => {
    assert.equal(bearerToken("Bearer abc.def"), "abc.def");
  });
  it("treats an absent or empty header as missing", () => {
    assert.equal(errorId(() => bearerToken(null)), "Unauthenticated::auth header missing");
    assert.equal(errorId(() => bearerToken("")), "Unauthenticated::auth header missing");
  });
  for (const value of ["bearer x", "Basic x", "Bearer a Bearer b", "xBearer y", "Bearer", "Bearerx"]) {
    it(`rejects ${JSON.stringify(value)} as an invalid header`, () => {
      assert.equal(errorId(() => bearerToken(value)), "Unauthenticated:AUTH-7fs1e:invalid auth header");
    });
  }
  it("rejects an empty token as invalid", () => {
    assert.equal(errorId(() => bearerToken("Bearer ")), "Unauthenticated:ROSTER-tok01:Token is invalid");
  });
  it("rejects a token holding a NUL character as invalid (no store can hold it)", () => {
    assert.equal(errorId(() => bearerToken("Bearer roster_pat_a\u0000b")), "Unauthenticated:ROSTER-tok01:Token is invalid");
  });
});

describe("JWT configuration", () => {
  const none = { issuer: undefined, audience: undefined, jwksUrl: undefined, jwksFile: undefined, clockSkewSeconds: 30 };
  it("is off when nothing is configured", () => {
    assert.equal(createJwtVerifier(none), undefined);
  });
  it("refuses partial or ambiguous configurations", () => {
    assert.throws(() => createJwtVerifier({ ...none, issuer: "https://issuer" }), /ISSUER and ROSTER_JWT_AUDIENCE/);
    assert.throws(() => createJwtVerifier({ ...none, issuer: "https://i", audience: "a" }), /exactly one/);
    assert.throws(
      () => createJwtVerifier({ ...none, issuer: "https://i", audience: "a", jwksUrl: "https://k", jwksFile: "/k.json" }),
      /exactly one/,
    );
    assert.throws(() => createJwtVerifier({ ...none, issuer: "https://i", audience: "a", jwksFile: "/nonexistent/jwks.json" }), /cannot read/);
  });
  it("recognises compact JWS", () => {
    assert.equal(isCompactJws("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"), true);
    assert.equal(isCompactJws("a.b."), false);
    assert.equal(isCompactJws("a.b.c.d"), false);
  });
});
