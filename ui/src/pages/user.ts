import type { Details } from "../../../src/gen/zitadel/object/v2/object_pb.js";
import { Gender, UserState, type HumanUser, type User } from "../../../src/gen/zitadel/user/v2/user_pb.js";
import { NotificationType } from "../../../src/gen/zitadel/user/v2/password_pb.js";
import { ifMatch, users } from "../api.js";
import { busy, field, formChecked, formValue, h, input, pageHeading, radios, replace, select, type Child } from "../dom.js";
import { describeError, errorBox, SEQUENCE_MISMATCH } from "../errors.js";
import { setFlash } from "../flash.js";
import { stateLabel, timeText } from "../format.js";
import { BASE, navigate, passwordResetLink, verifyEmailLink } from "../router.js";

type CallOptions = ReturnType<typeof ifMatch>;
interface WriteResult {
  details?: Details;
  emailCode?: string;
  phoneCode?: string;
  verificationCode?: string;
}

const GENDERS: Array<[string, string]> = [
  [String(Gender.UNSPECIFIED), "Not specified"],
  [String(Gender.FEMALE), "Female"],
  [String(Gender.MALE), "Male"],
  [String(Gender.DIVERSE), "Diverse"],
];

function time(ts: Parameters<typeof timeText>[0]): Child {
  const t = timeText(ts);
  return t ? h("time", { datetime: t.iso }, t.text) : h("span", { class: "muted" }, "—");
}

function row(label: string, key: string, ...value: Child[]): Child[] {
  return [h("dt", null, label), h("dd", { "data-field": key }, value)];
}

function verifiedTag(verified: boolean): Child {
  return verified ? h("span", { class: "tag ok" }, "verified") : h("span", { class: "tag" }, "not verified");
}

export async function renderUser(main: HTMLElement, userId: string): Promise<void> {
  const view = h("div", { class: "user-page" });
  main.appendChild(view);

  async function load(notice?: Child[]): Promise<void> {
    let user: User | undefined;
    try {
      user = (await users.getUserByID({ userId })).user;
    } catch (err) {
      replace(view, pageHeading("User"), errorBox(err), h("p", null, h("a", { href: BASE }, "Back to the user list")));
      return;
    }
    if (!user) return;
    draw(user, notice);
  }

  function draw(user: User, notice?: Child[]): void {
    const seq = user.details?.sequence ?? 0n;
    const human: HumanUser | undefined = user.type.case === "human" ? user.type.value : undefined;
    const orgId = user.details?.resourceOwner ?? "";
    const title = human?.profile?.displayName || user.username;

    /**
     * One write: sent with `if-match` = the sequence this page shows. Success reloads the page
     * with a notice; a concurrent change (ROSTER-seq01) offers a reload instead of overwriting.
     */
    async function write(form: HTMLElement, outcome: HTMLElement, what: string, call: (o: CallOptions) => Promise<WriteResult>, after?: (r: WriteResult) => Child[]): Promise<void> {
      replace(outcome);
      await busy(form, async () => {
        try {
          const r = await call(ifMatch(seq));
          const next = r.details?.sequence;
          await load([
            h("p", null, `${what}.`, next !== undefined && next !== seq ? ` Sequence ${seq} → ${next}.` : next !== undefined ? " Nothing changed." : ""),
            ...(after?.(r) ?? []),
          ]);
        } catch (err) {
          if (describeError(err).id === SEQUENCE_MISMATCH) {
            replace(
              outcome,
              errorBox(
                err,
                h("p", { class: "conflict" }, `This user was changed meanwhile: someone saved a change after this page showed sequence ${seq}. Nothing was saved.`),
                h("button", { type: "button", onclick: () => void load() }, "Reload user"),
              ),
            );
          } else {
            replace(outcome, errorBox(err));
          }
        }
      });
    }

    const codeNotice = (r: WriteResult): Child[] => [
      r.emailCode
        ? h("p", null, "Email code: ", h("code", { "data-code": "email" }, r.emailCode), " · ", h("a", { href: verifyEmailLink(user.userId, r.emailCode, orgId), "data-link": "verify-email" }, "verification link"))
        : null,
      r.phoneCode ? h("p", null, "Phone code: ", h("code", { "data-code": "phone" }, r.phoneCode)) : null,
    ];

    /** A form section: its fields, a submit button, and a place for its own outcome. */
    function section(legend: string, fields: Child[], submit: string, onSubmit: (form: HTMLFormElement, outcome: HTMLElement) => void, open = false): HTMLElement {
      const outcome = h("div", { class: "outcome" });
      const form = h("form", { "aria-label": `Edit ${legend.toLowerCase()}` }, fields, outcome, h("div", { class: "actions" }, h("button", { type: "submit" }, submit)));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        onSubmit(form, outcome);
      });
      return h("details", { class: "card", open, "data-section": legend.toLowerCase() }, h("summary", null, h("h2", null, legend)), form);
    }

    const summary = h(
      "dl",
      { class: "summary" },
      row("User ID", "user-id", h("code", null, user.userId)),
      row("Username", "username", user.username),
      row("State", "state", h("span", { class: `state state-${stateLabel(user.state).toLowerCase()}` }, stateLabel(user.state))),
      row("Organization", "organization", h("a", { href: `${BASE}?${new URLSearchParams({ org: orgId })}` }, h("code", null, orgId))),
      human ? row("Email", "email", human.email?.email || h("span", { class: "muted" }, "—"), " ", human.email?.email ? verifiedTag(human.email.isVerified) : null) : [],
      human ? row("Phone", "phone", human.phone?.phone || h("span", { class: "muted" }, "—"), " ", human.phone?.phone ? verifiedTag(human.phone.isVerified) : null) : [],
      row("Sequence", "sequence", String(seq)),
      row("Changed", "change-date", time(user.details?.changeDate)),
      row("Created", "creation-date", time(user.details?.creationDate)),
      human ? row("Password changed", "password-changed", time(human.passwordChanged), human.passwordChangeRequired ? [" ", h("span", { class: "tag" }, "change required")] : null) : [],
    );

    // ---- state and deletion
    const stateOutcome = h("div", { class: "outcome" });
    const stateBox = h("section", { class: "card", "aria-labelledby": "state-title" }, h("h2", { id: "state-title" }, "State"));
    const stateButtons = h("div", { class: "actions" });
    const stateAction = (label: string, what: string, call: (o: CallOptions) => Promise<WriteResult>) =>
      h("button", { type: "button", onclick: () => void write(stateBox, stateOutcome, what, call) }, label);
    if (user.state === UserState.ACTIVE || user.state === UserState.INITIAL) stateButtons.appendChild(stateAction("Lock", "Locked", (o) => users.lockUser({ userId }, o)));
    if (user.state === UserState.LOCKED) stateButtons.appendChild(stateAction("Unlock", "Unlocked", (o) => users.unlockUser({ userId }, o)));
    if (user.state === UserState.ACTIVE || user.state === UserState.LOCKED) stateButtons.appendChild(stateAction("Deactivate", "Deactivated", (o) => users.deactivateUser({ userId }, o)));
    if (user.state === UserState.INACTIVE) stateButtons.appendChild(stateAction("Reactivate", "Reactivated", (o) => users.reactivateUser({ userId }, o)));
    stateButtons.appendChild(h("button", { type: "button", class: "danger", onclick: () => confirmDelete() }, "Delete user…"));
    stateBox.append(stateButtons, stateOutcome);

    function confirmDelete(): void {
      const titleId = "delete-title";
      const dialog = h(
        "dialog",
        { "aria-labelledby": titleId, class: "confirm" },
        h("h2", { id: titleId }, `Delete ${user.username}?`),
        h("p", null, "The user is removed with its codes, memberships and tokens; its username becomes free. This cannot be undone."),
        h(
          "form",
          { method: "dialog", class: "actions" },
          h("button", { value: "cancel", autofocus: true }, "Cancel"),
          h("button", { value: "delete", class: "danger" }, "Delete user"),
        ),
      );
      dialog.addEventListener("close", () => {
        const choice = dialog.returnValue;
        dialog.remove();
        if (choice !== "delete") return;
        void busy(stateBox, async () => {
          try {
            await users.deleteUser({ userId }, ifMatch(seq));
            setFlash(`User ${user.username} deleted.`);
            navigate(BASE);
          } catch (err) {
            if (describeError(err).id === SEQUENCE_MISMATCH) {
              replace(stateOutcome, errorBox(err, h("p", { class: "conflict" }, "This user was changed meanwhile. Nothing was deleted."), h("button", { type: "button", onclick: () => void load() }, "Reload user")));
            } else replace(stateOutcome, errorBox(err));
          }
        });
      });
      document.body.appendChild(dialog);
      dialog.showModal();
    }

    const sections: Child[] = [];
    if (human) {
      const p = human.profile;
      sections.push(
        section(
          "Profile",
          [
            field("Given name", input({ name: "givenName", value: p?.givenName ?? "", required: true, maxlength: 200, autocomplete: "off" })),
            field("Family name", input({ name: "familyName", value: p?.familyName ?? "", required: true, maxlength: 200, autocomplete: "off" })),
            field("Nickname", input({ name: "nickName", value: p?.nickName ?? "", maxlength: 200, autocomplete: "off" })),
            field("Display name", input({ name: "displayName", value: p?.displayName ?? "", maxlength: 200, autocomplete: "off" })),
            field("Preferred language", input({ name: "preferredLanguage", value: p?.preferredLanguage ?? "", maxlength: 10, autocomplete: "off" }), "A language tag such as en or de-CH."),
            field("Gender", select("gender", GENDERS, String(p?.gender ?? Gender.UNSPECIFIED))),
          ],
          "Save profile",
          (form, outcome) =>
            void write(form, outcome, "Profile saved", (o) =>
              users.updateHumanUser(
                {
                  userId,
                  profile: {
                    givenName: formValue(form, "givenName"),
                    familyName: formValue(form, "familyName"),
                    nickName: formValue(form, "nickName"),
                    displayName: formValue(form, "displayName"),
                    preferredLanguage: formValue(form, "preferredLanguage"),
                    gender: Number(formValue(form, "gender")) as Gender,
                  },
                },
                o,
              ),
            ),
          true,
        ),
        section(
          "Username",
          [field("Username", input({ name: "username", value: user.username, required: true, maxlength: 200, autocomplete: "off", autocapitalize: "off" }))],
          "Save username",
          (form, outcome) => void write(form, outcome, "Username saved", (o) => users.updateHumanUser({ userId, username: formValue(form, "username") }, o)),
        ),
        section(
          "Email",
          [
            field("Email address", input({ type: "email", name: "email", value: human.email?.email ?? "", required: true, autocomplete: "off" })),
            radios("Verification of a new address", "emailVerification", [["send", "Email a verification code to the address"], ["return", "Show the code here"], ["verified", "Mark as verified"]], "send"),
          ],
          "Save email",
          (form, outcome) => {
            const v = formValue(form, "emailVerification");
            const verification =
              v === "return" ? { case: "returnCode" as const, value: {} } : v === "verified" ? { case: "isVerified" as const, value: true } : { case: "sendCode" as const, value: {} };
            void write(form, outcome, "Email saved", (o) => users.updateHumanUser({ userId, email: { email: formValue(form, "email"), verification } }, o), codeNotice);
          },
        ),
        section(
          "Phone",
          [
            field("Phone number", input({ type: "tel", name: "phone", value: human.phone?.phone ?? "", required: true, autocomplete: "off" }), "International form, e.g. +41 79 123 45 67."),
            radios("Verification of a new number", "phoneVerification", [["send", "Send a code by SMS"], ["return", "Show the code here"], ["verified", "Mark as verified"]], "send"),
          ],
          "Save phone",
          (form, outcome) => {
            const v = formValue(form, "phoneVerification");
            const verification =
              v === "return" ? { case: "returnCode" as const, value: {} } : v === "verified" ? { case: "isVerified" as const, value: true } : { case: "sendCode" as const, value: {} };
            void write(form, outcome, "Phone saved", (o) => users.updateHumanUser({ userId, phone: { phone: formValue(form, "phone"), verification } }, o), codeNotice);
          },
        ),
        section(
          "Password",
          [
            field("New password", input({ type: "password", name: "password", required: true, autocomplete: "new-password" })),
            h("div", { class: "check" }, h("input", { type: "checkbox", id: "pw-change-required", name: "changeRequired" }), h("label", { for: "pw-change-required" }, "The user must change it at the next sign-in")),
          ],
          "Set password",
          (form, outcome) =>
            void write(form, outcome, "Password set", (o) =>
              users.updateHumanUser(
                { userId, password: { passwordType: { case: "password", value: { password: formValue(form, "password"), changeRequired: formChecked(form, "changeRequired") } } } },
                o,
              ),
            ),
        ),
      );

      // ---- codes and links for the person (the self-service pages)
      const linkOutcome = h("div", { class: "outcome" });
      const links = h("section", { class: "card", "aria-labelledby": "links-title" }, h("h2", { id: "links-title" }, "Links for the user"));
      const resetNotice = (r: WriteResult): Child[] =>
        r.verificationCode
          ? [h("p", null, "Password-reset link (give it to the user only): ", h("a", { href: passwordResetLink(userId, r.verificationCode, orgId), "data-link": "password-reset" }, "reset link"))]
          : [h("p", null, "A reset link is on its way to the user.")];
      const emailCodeNotice = (r: WriteResult): Child[] => codeNotice({ emailCode: r.verificationCode });
      links.append(
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", onclick: () => void write(links, linkOutcome, "Reset link mailed", (o) => users.passwordReset({ userId, medium: { case: "sendLink", value: { notificationType: NotificationType.Email } } }, o), resetNotice) }, "Email a password-reset link"),
          h("button", { type: "button", onclick: () => void write(links, linkOutcome, "Reset link created", (o) => users.passwordReset({ userId, medium: { case: "returnCode", value: {} } }, o), resetNotice) }, "Create a password-reset link"),
          human.email && !human.email.isVerified
            ? [
                h("button", { type: "button", onclick: () => void write(links, linkOutcome, "Verification code mailed", (o) => users.sendEmailCode({ userId, verification: { case: "sendCode", value: {} } }, o)) }, "Email a new verification code"),
                h("button", { type: "button", onclick: () => void write(links, linkOutcome, "Verification code created", (o) => users.sendEmailCode({ userId, verification: { case: "returnCode", value: {} } }, o), emailCodeNotice) }, "Create an email verification link"),
              ]
            : null,
          human.phone?.phone
            ? h("button", { type: "button", onclick: () => void write(links, linkOutcome, "Phone removed", (o) => users.removePhone({ userId }, o)) }, "Remove phone")
            : null,
        ),
        linkOutcome,
      );
      sections.push(links);
    }

    const noticeBox = notice ? h("div", { class: "notice", role: "status", tabindex: "-1" }, notice) : null;
    replace(
      view,
      h("p", { class: "crumbs" }, h("a", { href: BASE }, "Users"), " / ", user.username),
      pageHeading(title),
      noticeBox,
      h("section", { class: "card", "aria-label": "Summary" }, summary),
      stateBox,
      sections,
    );
    noticeBox?.focus();
  }

  await load();
}
