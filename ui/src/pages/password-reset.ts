import { selfService } from "../api.js";
import { busy, field, formValue, h, input, pageHeading, replace } from "../dom.js";
import { errorBox } from "../errors.js";
import { passwordAcceptable, passwordRules, type PolicyView } from "../password-rules.js";

/**
 * /ui/password-reset?userID=…&code=… — the link of a password-reset mail: choose a new password.
 * The deployment's policy is shown and checked here exactly as the server checks it.
 */
export async function renderPasswordReset(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const userId = params.get("userID") ?? "";
  main.appendChild(pageHeading("Choose a new password"));
  if (!userId) {
    main.appendChild(h("p", { role: "alert" }, "This link is incomplete: it names no user. Open the link from the mail again, or ask for a new one."));
    return;
  }
  const outcome = h("div", { class: "outcome" });
  let policy: PolicyView | undefined;
  try {
    policy = await selfService.getPasswordPolicy({});
  } catch (err) {
    outcome.appendChild(errorBox(err, h("p", null, "The password rules could not be loaded; the server still checks them.")));
  }

  const password = input({ type: "password", name: "password", required: true, autocomplete: "new-password" });
  const repeat = input({ type: "password", name: "repeat", required: true, autocomplete: "new-password" });
  const rulesList = h("ul", { class: "rules", id: "password-rules", "aria-label": "Password rules" });
  password.setAttribute("aria-describedby", "password-rules");
  const drawRules = () => {
    if (!policy) return;
    replace(
      rulesList,
      passwordRules(password.value, policy).map((r) =>
        h("li", { class: r.met ? "met" : "unmet", "data-rule": r.key }, h("span", { class: "visually-hidden" }, r.met ? "Met: " : "Not met: "), r.text),
      ),
    );
  };
  password.addEventListener("input", drawRules);
  drawRules();

  const form = h(
    "form",
    { class: "card narrow", "aria-label": "Choose a new password" },
    field("Reset code", input({ name: "code", value: params.get("code") ?? "", required: true, maxlength: 20, autocomplete: "one-time-code", autocapitalize: "characters", spellcheck: "false" }), "From the mail; already filled in when you followed the link."),
    field("New password", password),
    policy ? h("div", { class: "rules-box" }, h("p", { class: "hint" }, "Your new password needs:"), rulesList) : null,
    field("Repeat the new password", repeat),
    outcome,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Set new password")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    replace(outcome);
    const pw = formValue(form, "password");
    if (policy && !passwordAcceptable(pw, policy)) {
      replace(outcome, h("div", { class: "error", role: "alert" }, h("p", null, "The password does not meet every rule yet: see the list above.")));
      password.focus();
      return;
    }
    if (pw !== formValue(form, "repeat")) {
      replace(outcome, h("div", { class: "error", role: "alert" }, h("p", null, "The two passwords are not the same.")));
      repeat.focus();
      return;
    }
    void busy(form, async () => {
      try {
        await selfService.resetPasswordWithCode({ userId, verificationCode: formValue(form, "code").trim(), newPassword: pw });
        const done = h("div", { class: "notice", role: "status", tabindex: "-1" }, h("p", { class: "done" }, "Your password has been changed."), h("p", null, "Sign in with the new password from now on."));
        form.replaceWith(done);
        done.focus();
      } catch (err) {
        replace(outcome, errorBox(err, h("p", null, "After five wrong attempts, or once it has expired, a reset code no longer works: ask for a new one.")));
      }
    });
  });
  main.appendChild(form);
}
