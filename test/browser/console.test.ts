/**
 * The console and the self-service pages in real headless Chromium (Debian's package, driven by
 * playwright-core) against a real Roster: every click goes through the page's own gRPC-web
 * client, and every outcome is checked against what another client (REST, Connect) reads back.
 * Screenshots of the main screens land in test-output/screenshots (printed at the end).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Page } from "playwright-core";
import { ensureUiBuilt } from "../../scripts/ensure-ui.mjs";
import { UserService } from "../../src/gen/zitadel/user/v2/user_service_pb.js";
import { launchBrowser, SCREENSHOT_DIR, type TestBrowser } from "../support/browser.js";
import { assertOk, rest, uniq } from "../support/fixtures.js";
import { openInspector, type Inspector } from "../support/inspect.js";
import { startTestRoster, type TestRoster } from "../support/roster.js";

const GRPC_WEB_PROTO = "application/grpc-web+proto";

let roster: TestRoster;
let inspector: Inspector;
let b: TestBrowser;
let page: Page;
let orgId: string;
const tag = uniq();
const people: Record<string, string> = {};

/** REST as an administrator (set-up and read-back from outside the page). */
async function api(method: string, path: string, body?: unknown) {
  const res = await rest(roster, method, path, { token: roster.adminToken, body });
  assertOk(res);
  return res.body;
}

async function addHuman(username: string, given: string, family: string, extra: Record<string, unknown> = {}): Promise<string> {
  const body = await api("POST", "/v2/users/human", {
    username,
    organization: { orgId },
    profile: { givenName: given, familyName: family },
    email: { email: `${username}@console.example`, isVerified: true },
    password: { password: "Initial-Passw0rd" },
    ...extra,
  });
  return body.userId as string;
}

const userOf = async (userId: string) => (await api("GET", `/v2/users/${userId}`)).user;
const sequenceOf = async (userId: string) => Number((await userOf(userId)).details.sequence);

const el = (selector: string) => page.locator(selector);
async function text(selector: string, on: Page = page): Promise<string> {
  const l = on.locator(selector).first();
  await l.waitFor();
  return (await l.textContent())?.trim() ?? "";
}

/** Opens a user page and waits until it shows the user. */
async function openUser(userId: string): Promise<void> {
  await page.goto(`${roster.baseUrl}/ui/users/${userId}`);
  await el('dd[data-field="sequence"]').waitFor();
}

/** Waits for the notice of a finished write (each write replaces the page, and its notice). */
async function notice(text: string): Promise<void> {
  await page.locator(".notice", { hasText: text }).waitFor();
}

/** proto3 JSON leaves false out. */
const flag = (v: boolean | undefined): boolean => v === true;

async function openSection(name: string): Promise<void> {
  const section = el(`details[data-section="${name}"]`);
  if (!(await section.evaluate((d) => (d as HTMLDetailsElement).open))) await section.locator("summary").click();
}

/** The RPC requests of the pages so far (everything under a package path). */
const rpcRequests = () => b.requests.filter((r) => /^\/(zitadel|roster)\.[a-z.0-9]+\.[A-Za-z]+\/[A-Za-z]+$/.test(new URL(r.url()).pathname));

/** A test whose failure also leaves a screenshot of every open page (failed-<name>-<n>.png). */
function browserTest(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      const pages = b.browser.contexts().flatMap((c) => c.pages());
      for (const [i, p] of pages.entries()) await b.screenshot(`failed-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, "-")}-${i}`, p).catch(() => {});
      throw e;
    }
  });
}

before(async () => {
  ensureUiBuilt({ quiet: true });
  b = await launchBrowser();
  page = b.page;
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
  orgId = (await api("POST", "/v2/organizations", { name: `Console-${tag}` })).organizationId;
  people.ada = await addHuman(`ada-${tag}`, "Ada", "Lovelace", { profile: { givenName: "Ada", familyName: "Lovelace", displayName: "Ada Lovelace" } });
  people.alan = await addHuman(`alan-${tag}`, "Alan", "Turing");
  people.grace = await addHuman(`grace-${tag}`, "Grace", "Hopper");
  people.edsger = await addHuman(`edsger-${tag}`, "Edsger", "Dijkstra");
  people.barbara = await addHuman(`barbara-${tag}`, "Barbara", "Liskov");
});

after(async () => {
  await b?.close();
  await inspector?.close();
  await roster?.close();
  console.log(`# screenshots: ${SCREENSHOT_DIR}`);
});

describe("console in Chromium", () => {
  browserTest("sign in: a wrong token is refused with its error id; the right one is kept in sessionStorage only", async () => {
    await page.goto(`${roster.baseUrl}/ui/`);
    await page.waitForURL(/\/ui\/sign-in\?return=/);
    await b.screenshot("01-sign-in");
    await page.getByLabel("Personal access token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.equal(await text(".error .error-id"), "ROSTER-tok01");
    assert.equal(await text(".error .error-message"), "Token is invalid");

    await page.getByLabel("Personal access token").fill(roster.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/ui/");
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem("roster.console.token"), local: localStorage.length, cookie: document.cookie }));
    assert.deepEqual(stored, { session: roster.adminToken, local: 0, cookie: "" });
    assert.deepEqual(await b.context.cookies(), []);
    assert.ok(b.requests.every((r) => !r.url().includes(roster.adminToken)), "the token never appears in a URL");
  });

  browserTest("list: organization filter, search by username, email and name, state filter, sorting and paging", async () => {
    const rows = async () => {
      await el("table.users tbody tr, .status:has-text('No users match')").first().waitFor();
      return el("table.users tbody th a").allTextContents();
    };
    /** Fills the filters (a changed select applies at once), submits, and waits for the new results. */
    const search = async (fields: { q?: string; state?: string; sort?: string; order?: string }) => {
      await page.getByLabel("Organization ID").fill(orgId);
      await page.getByLabel("Search", { exact: true }).fill(fields.q ?? "");
      if (fields.state !== undefined) await page.getByLabel("State").selectOption(fields.state);
      if (fields.sort !== undefined) await page.getByLabel("Sort by").selectOption(fields.sort);
      if (fields.order !== undefined) await page.getByLabel("Order").selectOption(fields.order);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.waitForFunction(() => {
        const s = document.querySelector(".status")?.textContent ?? "";
        return s.startsWith("Showing") || s.startsWith("No users") || document.querySelector(".results .error") !== null;
      });
    };

    await page.goto(`${roster.baseUrl}/ui/`);
    await search({});
    const all = [`ada-${tag}`, `alan-${tag}`, `barbara-${tag}`, `edsger-${tag}`, `grace-${tag}`];
    assert.deepEqual(await rows(), all);
    assert.equal(await text(".status"), "Showing 1–5 of 5 users.");
    await b.screenshot("02-users");

    await search({ q: "LOVELACE" }); // last name, ignoring case
    assert.deepEqual(await rows(), [`ada-${tag}`]);
    await search({ q: "grace-" }); // username
    assert.deepEqual(await rows(), [`grace-${tag}`]);
    await search({ q: `alan-${tag}@console` }); // email
    assert.deepEqual(await rows(), [`alan-${tag}`]);
    await search({ q: "Ada Love" }); // display name
    assert.deepEqual(await rows(), [`ada-${tag}`]);

    await api("POST", `/v2/users/${people.edsger}/lock`, {});
    await search({ q: "", state: "locked" });
    assert.deepEqual(await rows(), [`edsger-${tag}`]);
    await api("POST", `/v2/users/${people.edsger}/unlock`, {});

    await search({ q: "", state: "", sort: "last", order: "desc" }); // Turing, Lovelace, Liskov, Hopper, Dijkstra
    assert.deepEqual(await rows(), [`alan-${tag}`, `ada-${tag}`, `barbara-${tag}`, `grace-${tag}`, `edsger-${tag}`]);

    // a page size from the URL (the menu offers 10 to 100); then page with the buttons
    await page.goto(`${roster.baseUrl}/ui/?org=${orgId}&limit=2`);
    assert.equal(await page.getByLabel("Per page").inputValue(), "2");
    assert.deepEqual(await rows(), all.slice(0, 2));
    await page.getByRole("button", { name: "Next page" }).click();
    await page.waitForURL(/offset=2/);
    assert.deepEqual(await rows(), all.slice(2, 4));
    assert.equal(await text(".status"), "Showing 3–4 of 5 users.");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.waitForURL(/offset=4/);
    assert.deepEqual(await rows(), all.slice(4));
    assert.ok(await page.getByRole("button", { name: "Next page" }).isDisabled());

    // the list's state is in the URL: a reload shows the same page
    await page.reload();
    assert.deepEqual(await rows(), all.slice(4));
  });

  browserTest("create an organization and a user in it through the console", async () => {
    await page.goto(`${roster.baseUrl}/ui/organizations/new`);
    await page.getByLabel("Name").fill(`Babbage-${tag}`);
    await page.getByRole("button", { name: "Create organization" }).click();
    const newOrg = await text('[data-field="organization-id"]');
    assert.match(newOrg, /^\d+$/);

    await page.getByRole("link", { name: "Create a user in it" }).click();
    await page.getByRole("heading", { name: "New user" }).waitFor();
    assert.equal(await page.getByLabel("Organization ID (optional)").inputValue(), newOrg);
    await page.getByLabel("Username").fill(`charles-${tag}`);
    await page.getByLabel("Given name").fill("Charles");
    await page.getByLabel("Family name").fill("Babbage");
    await page.getByLabel("Email address").fill(`charles-${tag}@console.example`);
    await page.getByLabel("Show the code here").check();
    await b.screenshot("03-new-user");
    await page.getByRole("button", { name: "Create user" }).click();
    await el('dd[data-field="sequence"]').waitFor();
    const userId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
    const user = await userOf(userId);
    assert.equal(user.username, `charles-${tag}`);
    assert.equal(user.details.resourceOwner, newOrg);
    assert.equal(flag(user.human.email.isVerified), false);
    assert.match(await text('.flash [data-code="email"]'), /^[A-Z0-9]{6}$/);
  });

  browserTest("edit a profile: the request carries if-match with the shown sequence, the page shows the new one", async () => {
    await openUser(people.ada);
    const shown = Number(await text('dd[data-field="sequence"]'));
    assert.equal(shown, await sequenceOf(people.ada));
    await b.screenshot("04-user");
    await openSection("profile");
    await page.getByLabel("Given name").fill("Augusta Ada");
    const sent = page.waitForRequest((r) => r.url().endsWith("/UpdateHumanUser"));
    await page.getByRole("button", { name: "Save profile" }).click();
    assert.equal((await sent).headers()["if-match"], `"${shown}"`);
    await notice("Profile saved");
    assert.equal(await text(".notice"), `Profile saved. Sequence ${shown} → ${shown + 1}.`);
    assert.equal(await text('dd[data-field="sequence"]'), String(shown + 1));
    const user = await userOf(people.ada);
    assert.equal(user.human.profile.givenName, "Augusta Ada");
    assert.equal(Number(user.details.sequence), shown + 1);
  });

  browserTest("a conflicting edit from another client is reported as changed meanwhile; reload, then the edit goes through", async () => {
    await openUser(people.alan);
    const shown = Number(await text('dd[data-field="sequence"]'));
    await api("PUT", `/v2/users/human/${people.alan}`, { profile: { givenName: "Alan", familyName: "Turing", nickName: "Prof" } });

    await openSection("profile");
    await page.getByLabel("Display name").fill("A. M. Turing");
    await page.getByRole("button", { name: "Save profile" }).click();
    assert.equal(await text(".error .error-id"), "ROSTER-seq01");
    assert.match(await text(".error .conflict"), new RegExp(`changed meanwhile: someone saved a change after this page showed sequence ${shown}\\. Nothing was saved\\.`));
    await b.screenshot("05-changed-meanwhile");
    const untouched = await userOf(people.alan);
    assert.equal(untouched.human.profile.displayName, "Alan Turing");
    assert.equal(untouched.human.profile.nickName, "Prof");

    await page.getByRole("button", { name: "Reload user" }).click();
    await page.waitForFunction((s) => document.querySelector('dd[data-field="sequence"]')?.textContent === String(s), shown + 1);
    assert.equal(await page.getByLabel("Nickname").inputValue(), "Prof");
    await page.getByLabel("Display name").fill("A. M. Turing");
    await page.getByRole("button", { name: "Save profile" }).click();
    assert.equal(await text(".notice"), `Profile saved. Sequence ${shown + 1} → ${shown + 2}.`);
    assert.equal((await userOf(people.alan)).human.profile.displayName, "A. M. Turing");
  });

  browserTest("username, email (mark verified) and phone (send code) through UpdateHumanUser", async () => {
    await openUser(people.grace);
    await openSection("username");
    await page.getByLabel("Username", { exact: true }).fill(`grace.hopper-${tag}`);
    await page.getByRole("button", { name: "Save username" }).click();
    await notice("Username saved");
    assert.equal(await text('dd[data-field="username"]'), `grace.hopper-${tag}`);

    await openSection("email");
    await page.getByLabel("Email address").fill(`grace-${tag}@navy.example`);
    await el('details[data-section="email"]').getByLabel("Mark as verified").check();
    await page.getByRole("button", { name: "Save email" }).click();
    await notice("Email saved");
    assert.match(await text('dd[data-field="email"]'), new RegExp(`grace-${tag}@navy\\.example\\s*verified`));

    await openSection("phone");
    await page.getByLabel("Phone number").fill("+41 79 555 01 23");
    await page.getByRole("button", { name: "Save phone" }).click();
    await notice("Phone saved");
    assert.match(await text('dd[data-field="phone"]'), /\+41795550123\s*not verified/);
    const user = await userOf(people.grace);
    assert.deepEqual(
      [user.username, user.human.email.email, user.human.email.isVerified, user.human.phone.phone, flag(user.human.phone.isVerified)],
      [`grace.hopper-${tag}`, `grace-${tag}@navy.example`, true, "+41795550123", false],
    );
  });

  browserTest("lock and unlock; delete asks first, then removes the user", async () => {
    await openUser(people.barbara);
    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await notice("Locked");
    assert.equal(await text('dd[data-field="state"]'), "Locked");
    assert.equal((await userOf(people.barbara)).state, "USER_STATE_LOCKED");
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.waitForFunction(() => document.querySelector('dd[data-field="state"]')?.textContent === "Active");
    assert.equal((await userOf(people.barbara)).state, "USER_STATE_ACTIVE");

    await page.getByRole("button", { name: "Delete user…" }).click();
    const dialog = page.getByRole("dialog", { name: `Delete barbara-${tag}?` });
    await dialog.waitFor();
    await b.screenshot("06-delete-confirmation");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal((await userOf(people.barbara)).username, `barbara-${tag}`);

    await page.getByRole("button", { name: "Delete user…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete user" }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    assert.equal(await text(".flash"), `User barbara-${tag} deleted.`);
    const gone = await rest(roster, "GET", `/v2/users/${people.barbara}`, { token: roster.adminToken });
    assert.equal(gone.status, 404);
  });
});

describe("self-service links in Chromium", () => {
  let visitor: Page;
  before(async () => {
    visitor = await b.newPage();
  });

  /** The console asks for an email code to be shown, and hands back the link it builds. */
  async function verificationLinkFor(userId: string, email: string): Promise<string> {
    await openUser(userId);
    await openSection("email");
    await page.getByLabel("Email address").fill(email);
    await el('details[data-section="email"]').getByLabel("Show the code here").check();
    await page.getByRole("button", { name: "Save email" }).click();
    return (await el('.notice a[data-link="verify-email"]').getAttribute("href"))!;
  }

  async function resetLinkFor(userId: string): Promise<string> {
    await openUser(userId);
    await page.getByRole("button", { name: "Create a password-reset link" }).click();
    return (await el('.notice a[data-link="password-reset"]').getAttribute("href"))!;
  }

  browserTest("the verification link from return_code verifies the address, without a token", async () => {
    const link = await verificationLinkFor(people.edsger, `edsger-${tag}@eindhoven.example`);
    const url = new URL(link);
    assert.equal(url.pathname, "/ui/verify-email");
    assert.equal(url.searchParams.get("userID"), people.edsger);
    assert.equal(url.searchParams.get("orgID"), orgId);
    assert.equal(flag((await userOf(people.edsger)).human.email.isVerified), false);

    await visitor.goto(link);
    await visitor.getByRole("heading", { name: "Confirm your email address" }).waitFor();
    assert.equal(await visitor.getByLabel("Verification code").inputValue(), url.searchParams.get("code"));
    await b.screenshot("07-verify-email", visitor);
    const sent = visitor.waitForRequest((r) => r.url().endsWith("/roster.selfservice.v1.SelfService/VerifyEmailWithCode"));
    await visitor.getByRole("button", { name: "Confirm email address" }).click();
    assert.equal((await sent).headers().authorization, undefined);
    assert.equal(await text(".notice .done", visitor), "Your email address is verified.");
    await b.screenshot("08-verify-email-done", visitor);
    const user = await userOf(people.edsger);
    assert.equal(user.human.email.email, `edsger-${tag}@eindhoven.example`);
    assert.equal(user.human.email.isVerified, true);
  });

  browserTest("a wrong code shows the message and error id, and counts an attempt", async () => {
    const link = new URL(await verificationLinkFor(people.edsger, `edsger-${tag}@austin.example`));
    const code = link.searchParams.get("code")!;
    link.searchParams.set("code", code === "AAAAAA" ? "BBBBBB" : "AAAAAA");
    const before = await sequenceOf(people.edsger);

    await visitor.goto(link.toString());
    await visitor.getByRole("button", { name: "Confirm email address" }).click();
    assert.equal(await text(".error .error-id", visitor), "COMMAND-eis9R");
    assert.equal(await text(".error .error-message", visitor), "Code is invalid");
    await b.screenshot("09-verify-email-wrong-code", visitor);
    assert.equal(await sequenceOf(people.edsger), before + 1);
    assert.equal((await inspector.code(people.edsger, "email"))?.failedAttempts, 1);
    assert.equal(flag((await userOf(people.edsger)).human.email.isVerified), false);

    // the person corrects the code in the field: the same code still works (one of five attempts used)
    await visitor.getByLabel("Verification code").fill(code);
    await visitor.getByRole("button", { name: "Confirm email address" }).click();
    await text(".notice .done", visitor);
    assert.equal((await userOf(people.edsger)).human.email.isVerified, true);
  });

  browserTest("the reset link: the policy is shown and checked before sending; the new password then works as current_password", async () => {
    const link = await resetLinkFor(people.ada);
    assert.equal(new URL(link).pathname, "/ui/password-reset");
    await visitor.goto(link);
    await visitor.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await visitor.locator('li[data-rule="minLength"]').waitFor();
    const rules = await visitor.locator("ul.rules li").allTextContents();
    assert.deepEqual(rules, [
      "Not met: At least 8 bytes long",
      "Not met: A lower-case letter (a–z)",
      "Not met: An upper-case letter (A–Z)",
      "Not met: A digit (0–9)",
      "Not met: A symbol (anything but a–z, A–Z, 0–9)",
      "Met: At most 72 bytes",
    ]);

    const sentBefore = rpcRequests().filter((r) => r.url().endsWith("/ResetPasswordWithCode")).length;
    await visitor.getByLabel("New password", { exact: true }).fill("lovelace");
    await visitor.getByLabel("Repeat the new password").fill("lovelace");
    await visitor.getByRole("button", { name: "Set new password" }).click();
    assert.equal(await text(".error", visitor), "The password does not meet every rule yet: see the list above.");
    assert.equal(await visitor.locator("li.met").count(), 3); // length, lower case, at most 72 bytes
    assert.equal(rpcRequests().filter((r) => r.url().endsWith("/ResetPasswordWithCode")).length, sentBefore, "nothing sent");

    const fresh = "Poetical-Science-1815";
    await visitor.getByLabel("New password", { exact: true }).fill(fresh);
    await visitor.getByLabel("Repeat the new password").fill(fresh);
    assert.equal(await visitor.locator("li.unmet").count(), 0);
    await b.screenshot("10-password-reset", visitor);
    await visitor.getByRole("button", { name: "Set new password" }).click();
    assert.equal(await text(".notice .done", visitor), "Your password has been changed.");
    await b.screenshot("11-password-reset-done", visitor);

    // Ada uses the new password: SetPassword with current_password, over Connect, as herself
    const adaClient = createClient(UserService, createConnectTransport({ baseUrl: roster.baseUrl, httpVersion: "1.1" }));
    const adaToken = await roster.tokenFor(people.ada);
    const headers = { authorization: `Bearer ${adaToken}` };
    await adaClient.setPassword({ userId: people.ada, newPassword: { password: "Analytical-Engine-1843" }, verification: { case: "currentPassword", value: fresh } }, { headers });
    await assert.rejects(
      adaClient.setPassword({ userId: people.ada, newPassword: { password: "Another-Engine-1843" }, verification: { case: "currentPassword", value: fresh } }, { headers }),
      (e) => ConnectError.from(e).code === Code.InvalidArgument,
    );
  });

  browserTest("a wrong reset code shows the message and error id, and counts an attempt", async () => {
    const link = new URL(await resetLinkFor(people.alan));
    link.searchParams.set("code", "WRONG1");
    const before = await sequenceOf(people.alan);
    await visitor.goto(link.toString());
    await visitor.getByLabel("New password", { exact: true }).fill("Enigma-Machine-1939");
    await visitor.getByLabel("Repeat the new password").fill("Enigma-Machine-1939");
    await visitor.getByRole("button", { name: "Set new password" }).click();
    assert.equal(await text(".error .error-id", visitor), "CODE-woT0xc");
    assert.equal(await text(".error .error-message", visitor), "Code is invalid");
    assert.equal(await sequenceOf(people.alan), before + 1);
    assert.equal((await inspector.code(people.alan, "password_reset"))?.failedAttempts, 1);
  });
});

describe("phone-sized screen and keyboard", () => {
  browserTest("sign in with the keyboard only; the list fits a 390 px wide screen without sideways scrolling", async () => {
    const phone = await b.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${roster.baseUrl}/ui/?org=${orgId}`);
    await phone.getByLabel("Personal access token").waitFor();
    const focused: string[] = [];
    for (let i = 0; i < 3; i++) {
      await phone.keyboard.press("Tab");
      focused.push(await phone.evaluate(() => document.activeElement?.textContent?.trim() || (document.activeElement as HTMLInputElement | null)?.name || ""));
    }
    assert.deepEqual(focused, ["Skip to content", "Roster console", "token"]);
    await phone.keyboard.type(roster.adminToken);
    await phone.keyboard.press("Enter");
    await phone.getByRole("heading", { name: "Users" }).waitFor();
    assert.equal(new URL(phone.url()).searchParams.get("org"), orgId, "back to the page that was asked for");
    await phone.locator("table.users tbody tr").first().waitFor();
    const widths = await phone.evaluate(() => ({ content: document.documentElement.scrollWidth, screen: window.innerWidth }));
    assert.ok(widths.content <= widths.screen, `content ${widths.content}px wider than the screen ${widths.screen}px`);
    await b.screenshot("12-users-phone", phone);

    await phone.locator("table.users tbody th a").first().focus();
    await phone.keyboard.press("Enter");
    await phone.locator('dd[data-field="sequence"]').waitFor();
    assert.equal(await phone.evaluate(() => document.activeElement?.tagName), "H1", "focus moves to the new page's heading");
    const userWidths = await phone.evaluate(() => ({ content: document.documentElement.scrollWidth, screen: window.innerWidth }));
    assert.ok(userWidths.content <= userWidths.screen);
    await b.screenshot("13-user-phone", phone);
  });
});

describe("what the pages sent", () => {
  test("every RPC was gRPC-web with binary protobuf, to the page's own origin; no CSP violation or page error", () => {
    const rpcs = rpcRequests();
    const paths = new Set(rpcs.map((r) => new URL(r.url()).pathname));
    for (const p of [
      "/zitadel.user.v2.UserService/ListUsers",
      "/zitadel.user.v2.UserService/GetUserByID",
      "/zitadel.user.v2.UserService/UpdateHumanUser",
      "/zitadel.user.v2.UserService/AddHumanUser",
      "/zitadel.user.v2.UserService/LockUser",
      "/zitadel.user.v2.UserService/UnlockUser",
      "/zitadel.user.v2.UserService/DeleteUser",
      "/zitadel.user.v2.UserService/PasswordReset",
      "/zitadel.org.v2.OrganizationService/AddOrganization",
      "/roster.selfservice.v1.SelfService/VerifyEmailWithCode",
      "/roster.selfservice.v1.SelfService/ResetPasswordWithCode",
      "/roster.selfservice.v1.SelfService/GetPasswordPolicy",
    ]) {
      assert.ok(paths.has(p), `the pages called ${p}`);
    }
    for (const r of rpcs) {
      assert.equal(r.method(), "POST");
      assert.equal(r.headers()["content-type"], GRPC_WEB_PROTO, r.url());
      assert.equal(new URL(r.url()).origin, roster.baseUrl);
    }
    assert.deepEqual(b.problems, []);
  });
});
