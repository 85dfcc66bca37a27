import { Code } from "@connectrpc/connect";
import { session, users } from "../api.js";
import { busy, field, formValue, h, pageHeading, replace } from "../dom.js";
import { errorBox, isCode } from "../errors.js";
import { BASE, navigate } from "../router.js";

/** Sign in by pasting a personal access token; it is checked with one ListUsers call. */
export function renderSignIn(main: HTMLElement, params: URLSearchParams): void {
  const problem = h("div");
  const token = h("input", {
    type: "password",
    name: "token",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
  });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "sign-in-title" },
    field("Personal access token", token, [
      "The token is kept in this browser tab only (session storage) and sent as a bearer token. On first start Roster writes the administrator's token to ",
      h("code", null, "data/admin.pat"),
      ".",
    ]),
    problem,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = formValue(form, "token").trim();
    if (!value) return;
    void busy(form, async () => {
      session.signIn(value);
      try {
        await users.listUsers({ query: { limit: 1 } });
      } catch (err) {
        // A server without ListUsers still tells a bad token apart: authentication comes first.
        if (!isCode(err, Code.Unimplemented)) {
          session.signOut();
          replace(problem, errorBox(err));
          token.focus();
          return;
        }
      }
      const back = params.get("return");
      navigate(back && back.startsWith(BASE) && !back.startsWith(`${BASE}sign-in`) ? back : BASE, { replace: true });
    });
  });
  const title = pageHeading("Sign in");
  title.id = "sign-in-title";
  main.append(title, form);
}
