import { users } from "../api.js";
import { busy, field, formChecked, formValue, h, input, pageHeading, radios, replace } from "../dom.js";
import { errorBox } from "../errors.js";
import { setFlash } from "../flash.js";
import { navigate, userPath, verifyEmailLink } from "../router.js";

/** AddHumanUser: a person with a profile and an email address, optionally a phone and a password. */
export function renderNewUser(main: HTMLElement, params: URLSearchParams): void {
  const outcome = h("div", { class: "outcome" });
  const form = h(
    "form",
    { class: "card form", "aria-label": "New user" },
    field("Username", input({ name: "username", required: true, maxlength: 200, autocomplete: "off", autocapitalize: "off" })),
    field("Given name", input({ name: "givenName", required: true, maxlength: 200, autocomplete: "off" })),
    field("Family name", input({ name: "familyName", required: true, maxlength: 200, autocomplete: "off" })),
    field("Email address", input({ type: "email", name: "email", required: true, autocomplete: "off" })),
    radios("Email verification", "emailVerification", [["send", "Email a verification code"], ["return", "Show the code here"], ["verified", "Mark as verified"]], "send"),
    field("Phone number (optional)", input({ type: "tel", name: "phone", autocomplete: "off" })),
    field("Initial password (optional)", input({ type: "password", name: "password", autocomplete: "new-password" })),
    h("div", { class: "check" }, h("input", { type: "checkbox", id: "nu-change-required", name: "changeRequired", checked: true }), h("label", { for: "nu-change-required" }, "The user must change the password at the first sign-in")),
    field("Organization ID (optional)", input({ name: "orgId", value: params.get("org") ?? "", inputmode: "numeric", autocomplete: "off" }), "Empty: your own organization."),
    outcome,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create user")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formValue(form, "emailVerification");
    const verification =
      v === "return" ? { case: "returnCode" as const, value: {} } : v === "verified" ? { case: "isVerified" as const, value: true } : { case: "sendCode" as const, value: {} };
    const phone = formValue(form, "phone").trim();
    const password = formValue(form, "password");
    const orgId = formValue(form, "orgId").trim();
    void busy(form, async () => {
      try {
        const r = await users.addHumanUser({
          username: formValue(form, "username"),
          profile: { givenName: formValue(form, "givenName"), familyName: formValue(form, "familyName") },
          email: { email: formValue(form, "email"), verification },
          phone: phone ? { phone, verification: { case: "sendCode", value: {} } } : undefined,
          passwordType: password ? { case: "password", value: { password, changeRequired: formChecked(form, "changeRequired") } } : { case: undefined },
          organization: orgId ? { org: { case: "orgId", value: orgId } } : undefined,
        });
        setFlash(
          h("p", null, `User ${formValue(form, "username")} created.`),
          r.emailCode ? h("p", null, "Email code: ", h("code", { "data-code": "email" }, r.emailCode), " · ", h("a", { href: verifyEmailLink(r.userId, r.emailCode, r.details?.resourceOwner ?? ""), "data-link": "verify-email" }, "verification link")) : null,
        );
        navigate(userPath(r.userId));
      } catch (err) {
        replace(outcome, errorBox(err));
      }
    });
  });
  main.append(pageHeading("New user"), form);
}
