import { orgs } from "../api.js";
import { busy, field, formValue, h, input, pageHeading, replace } from "../dom.js";
import { errorBox } from "../errors.js";
import { BASE } from "../router.js";

/** AddOrganization: a name, no admins (users are added to it afterwards). */
export function renderNewOrg(main: HTMLElement): void {
  const outcome = h("div", { class: "outcome" });
  const form = h(
    "form",
    { class: "card narrow", "aria-label": "New organization" },
    field("Name", input({ name: "name", required: true, maxlength: 200, autocomplete: "off" }), "Names are unique, ignoring case."),
    outcome,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create organization")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = formValue(form, "name");
    void busy(form, async () => {
      try {
        const r = await orgs.addOrganization({ name });
        const id = r.organizationId;
        replace(
          outcome,
          h(
            "div",
            { class: "notice", role: "status" },
            h("p", null, `Organization ${name} created with ID `, h("code", { "data-field": "organization-id" }, id), "."),
            h("p", null, h("a", { href: `${BASE}users/new?${new URLSearchParams({ org: id })}` }, "Create a user in it"), " · ", h("a", { href: `${BASE}?${new URLSearchParams({ org: id })}` }, "Its users")),
          ),
        );
        form.reset();
      } catch (err) {
        replace(outcome, errorBox(err));
      }
    });
  });
  main.append(pageHeading("New organization"), form);
}
