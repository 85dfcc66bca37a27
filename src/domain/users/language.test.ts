import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalLanguage } from "./language.js";

const cases: Array<[string | undefined, string]> = [
  ["en", "en"],
  ["EN", "en"],
  ["en-us", "en-US"],
  ["EN-us", "en-US"],
  ["de-CH", "de-CH"],
  ["zh-hant-tw", "zh-Hant-TW"],
  ["und", "und"],
  ["", "und"],
  [undefined, "und"],
  ["not a tag", "und"],
  ["en_US", "und"],
  ["e", "und"],
  ["en-", "und"],
  ["123", "und"],
];

for (const [input, expected] of cases) {
  test(`canonicalLanguage(${JSON.stringify(input)}) → ${expected}`, () => {
    assert.equal(canonicalLanguage(input), expected);
  });
}
