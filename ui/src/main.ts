import "./style.css";
import { session } from "./api.js";
import { h, replace } from "./dom.js";
import { takeFlash } from "./flash.js";
import { renderNewOrg } from "./pages/new-org.js";
import { renderNewUser } from "./pages/new-user.js";
import { renderPasswordReset } from "./pages/password-reset.js";
import { renderSignIn } from "./pages/sign-in.js";
import { renderUser } from "./pages/user.js";
import { renderUsers } from "./pages/users.js";
import { renderVerifyEmail } from "./pages/verify-email.js";
import { BASE, isSelfService, navigate, onNavigate, parseRoute, type Route } from "./router.js";

const app = document.getElementById("app")!;

function consoleHeader(): HTMLElement {
  const signedIn = session.token() !== null;
  return h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: BASE }, "Roster console"),
    signedIn
      ? h(
          "nav",
          { "aria-label": "Console" },
          h("ul", null,
            h("li", null, h("a", { href: BASE }, "Users")),
            h("li", null, h("a", { href: `${BASE}users/new` }, "New user")),
            h("li", null, h("a", { href: `${BASE}organizations/new` }, "New organization")),
            h("li", null, h("button", { type: "button", class: "link", onclick: () => { session.signOut(); navigate(`${BASE}sign-in`); } }, "Sign out")),
          ),
        )
      : null,
  );
}

function selfServiceHeader(): HTMLElement {
  return h("header", { class: "top" }, h("span", { class: "brand" }, "Roster"));
}

let firstRender = true;

async function render(): Promise<void> {
  const route: Route = parseRoute(location);
  const needsToken = !isSelfService(route) && route.page !== "sign-in" && route.page !== "not-found";
  if (needsToken && session.token() === null) {
    const back = location.pathname + location.search;
    navigate(`${BASE}sign-in?${new URLSearchParams({ return: back })}`, { replace: true });
    return;
  }
  const main = h("main", { id: "main", tabindex: "-1" });
  const flash = takeFlash();
  if (flash) main.appendChild(h("div", { class: "flash", role: "status" }, flash));
  replace(app, isSelfService(route) ? selfServiceHeader() : consoleHeader(), main);

  switch (route.page) {
    case "sign-in":
      renderSignIn(main, route.params);
      break;
    case "users":
      await renderUsers(main, route.params);
      break;
    case "user":
      await renderUser(main, route.id);
      break;
    case "new-user":
      renderNewUser(main, route.params);
      break;
    case "new-org":
      renderNewOrg(main);
      break;
    case "verify-email":
      renderVerifyEmail(main, route.params);
      break;
    case "password-reset":
      await renderPasswordReset(main, route.params);
      break;
    case "not-found":
      document.title = "Not found · Roster";
      main.appendChild(h("h1", null, "Page not found"));
      main.appendChild(h("p", null, h("a", { href: BASE }, "Go to the user list")));
      break;
  }
  // After a navigation, move focus to the new page's heading so that screen readers announce it.
  if (!firstRender) (main.querySelector("h1") ?? main).focus?.();
  firstRender = false;
}

function rerender(): void {
  render().catch((err: unknown) => console.error(err));
}

onNavigate(rerender);
window.addEventListener("popstate", rerender);

// Same-document navigation for links to console pages (plain clicks only).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = (event.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

rerender();
