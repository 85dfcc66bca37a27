import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { loadTemplates, TemplateError, type TemplateValues } from "./templates.js";

const values: TemplateValues = {
  displayName: `Ada <script>"&'`,
  code: "K3M9QA",
  link: "https://id.example/verify?user=1&code=K3M9QA",
  expiryMinutes: "60",
  userId: "1",
  orgId: "2",
};

const dir = (files: Record<string, string>): string => {
  const d = mkdtempSync(path.join(tmpdir(), "roster-templates-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(d, name), content);
  return d;
};

test("the built-in templates: English and German for every message; other languages fall back to English", () => {
  const t = loadTemplates();
  assert.deepEqual(t.languages(), ["de", "en"]);
  assert.equal(t.render("email-verification", "subject.txt", "en", values), "Verify your email address");
  assert.equal(t.render("email-verification", "subject.txt", "de-CH", values), "Bestätigen Sie Ihre E-Mail-Adresse");
  assert.equal(t.render("password-reset", "subject.txt", "pt_BR", values), "Reset your password");
  assert.equal(t.render("password-reset", "subject.txt", "und", values), "Reset your password");
  assert.match(t.render("phone-verification", "sms.txt", "de", values), /^Ihr Bestätigungscode: K3M9QA \(60 Minuten gültig\)\.$/);
});

test("values are escaped in HTML parts only", () => {
  const t = loadTemplates();
  const html = t.render("email-verification", "body.html", "en", values);
  assert.ok(html.includes("Hello Ada &lt;script&gt;&quot;&amp;&#39;,"), html);
  assert.ok(html.includes(`href="https://id.example/verify?user=1&amp;code=K3M9QA"`));
  assert.ok(!html.includes("<script>"));
  const text = t.render("email-verification", "body.txt", "en", values);
  assert.ok(text.startsWith(`Hello Ada <script>"&',`));
  assert.ok(text.includes("https://id.example/verify?user=1&code=K3M9QA"));
});

test("an override directory replaces files by name and may add languages", () => {
  const t = loadTemplates({
    overrideDir: dir({
      "email-verification.en.subject.txt": "Confirm it, {{ displayName }}\n",
      "email-verification.fr.subject.txt": "Vérifiez votre adresse",
      "unrelated.txt": "ignored",
    }),
  });
  assert.equal(t.render("email-verification", "subject.txt", "en", values), `Confirm it, ${values.displayName}`);
  assert.equal(t.render("email-verification", "subject.txt", "fr", values), "Vérifiez votre adresse");
  // parts without a French file come from English
  assert.ok(t.render("email-verification", "body.txt", "fr", values).startsWith("Hello"));
  assert.deepEqual(t.languages(), ["de", "en", "fr"]);
});

test("an unknown placeholder, a missing English part or an unreadable directory stop the start", () => {
  assert.throws(() => loadTemplates({ overrideDir: dir({ "password-reset.de.sms.txt": "Code {{.Code}}" }) }), TemplateError);
  assert.throws(() => loadTemplates({ overrideDir: dir({ "password-reset.de.sms.txt": "Code {{password}}" }) }), /password-reset\.de\.sms\.txt: unknown placeholder \{\{password\}\}/);
  assert.throws(() => loadTemplates({ builtInDir: dir({}), channels: ["sms"] }), /phone-verification\.en\.sms\.txt is missing/);
  assert.doesNotThrow(() => loadTemplates({ builtInDir: dir({ "phone-verification.en.sms.txt": "{{code}}", "password-reset.en.sms.txt": "{{code}}" }), channels: ["sms"] }));
  assert.throws(() => loadTemplates({ overrideDir: path.join(tmpdir(), "no-such-templates-dir") }), /cannot read the templates directory/);
});
