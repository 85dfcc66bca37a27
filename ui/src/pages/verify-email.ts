import { selfService } from "../api.js";
import { busy, field, formValue, h, input, pageHeading, replace } from "../dom.js";
import { errorBox } from "../errors.js";

/**
 * /ui/verify-email?userID=…&code=…&orgID=… — the link of a verification mail. Nothing is sent
 * until the person confirms (a link scanner that merely opens the page uses up no attempt).
 */
export function renderVerifyEmail(main: HTMLElement, params: URLSearchParams): void {
  const userId = params.get("userID") ?? "";
  main.appendChild(pageHeading("Confirm your email address"));
  if (!userId) {
    main.appendChild(h("p", { role: "alert" }, "This link is incomplete: it names no user. Open the link from the mail again, or ask for a new one."));
    return;
  }
  const outcome = h("div", { class: "outcome" });
  const form = h(
    "form",
    { class: "card narrow", "aria-label": "Confirm email address" },
    h("p", null, "Confirm that this email address belongs to you."),
    field("Verification code", input({ name: "code", value: params.get("code") ?? "", required: true, maxlength: 20, autocomplete: "one-time-code", autocapitalize: "characters", spellcheck: "false" }), "The code from the mail; it is already filled in when you followed the link."),
    outcome,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Confirm email address")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    replace(outcome);
    void busy(form, async () => {
      try {
        await selfService.verifyEmailWithCode({ userId, verificationCode: formValue(form, "code").trim() });
        const done = h("div", { class: "notice", role: "status", tabindex: "-1" }, h("p", { class: "done" }, "Your email address is verified."), h("p", null, "You can close this page."));
        form.replaceWith(done);
        done.focus();
      } catch (err) {
        replace(outcome, errorBox(err, h("p", null, "Check the code. After five wrong attempts, or once it has expired, a code no longer works: ask for a new one.")));
      }
    });
  });
  main.appendChild(form);
}
