/**
 * The password-reset page checks the policy before it sends anything; it must accept exactly the
 * passwords the server accepts, under every combination of the policy's switches.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../src/domain/errors.js";
import { checkPasswordLength, checkPasswordPolicy, MAX_PASSWORD_BYTES, type PasswordPolicy } from "../src/domain/users/password-policy.js";
import { passwordAcceptable, passwordRules } from "../ui/src/password-rules.js";

const SAMPLES = [
  "",
  "a",
  "abcdefgh",
  "ABCDEFGH",
  "12345678",
  "!!!!!!!!",
  "Abcdefg1",
  "Abcdefg!",
  "Abcdef1!",
  "abcdef1!",
  "ABCDEF1!",
  "Ab1!",
  "Ab1!Ab1",
  "Ab1 Ab1 ",
  "émile-1A",
  "ÉMILE1aa",
  "ßßßß1aA",
  "日本語パスワード1aA",
  "😀😀1aA",
  "Aa1!" + "x".repeat(MAX_PASSWORD_BYTES - 4),
  "Aa1!" + "x".repeat(MAX_PASSWORD_BYTES - 3),
  "Aa1!" + "é".repeat(34),
  "Aa1!" + "é".repeat(35),
  "tab\there1A",
  "new\nline1A",
];

function serverAccepts(password: string, policy: PasswordPolicy): boolean {
  try {
    checkPasswordLength(password);
    checkPasswordPolicy(password, policy);
    return true;
  } catch (e) {
    if (e instanceof DomainError) return false;
    throw e;
  }
}

test("the page's check agrees with the server's for every policy and sample", () => {
  let compared = 0;
  for (const minLength of [1, 8, 12]) {
    for (let bits = 0; bits < 16; bits++) {
      const policy: PasswordPolicy = {
        minLength,
        hasLowercase: (bits & 1) !== 0,
        hasUppercase: (bits & 2) !== 0,
        hasNumber: (bits & 4) !== 0,
        hasSymbol: (bits & 8) !== 0,
      };
      const view = {
        minLength,
        maxLength: MAX_PASSWORD_BYTES,
        requiresLowercase: policy.hasLowercase,
        requiresUppercase: policy.hasUppercase,
        requiresNumber: policy.hasNumber,
        requiresSymbol: policy.hasSymbol,
      };
      for (const sample of SAMPLES) {
        assert.equal(passwordAcceptable(sample, view), serverAccepts(sample, policy), `${JSON.stringify(sample)} under ${JSON.stringify(policy)}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 3 * 16 * SAMPLES.length);
});

test("the rules are listed in the server's order, each with its state", () => {
  const view = { minLength: 8, maxLength: 72, requiresLowercase: true, requiresUppercase: true, requiresNumber: true, requiresSymbol: true };
  assert.deepEqual(
    passwordRules("abc", view).map((r) => [r.key, r.met]),
    [["minLength", false], ["lowercase", true], ["uppercase", false], ["number", false], ["symbol", false], ["maxLength", true]],
  );
  assert.deepEqual(passwordRules("abc", { ...view, requiresSymbol: false, requiresNumber: false }).map((r) => r.key), ["minLength", "lowercase", "uppercase", "maxLength"]);
});
