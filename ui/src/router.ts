/** Paths under /ui/ and the browser history: the server answers every app path with index.html. */
export const BASE = "/ui/";

export type Route =
  | { page: "users"; params: URLSearchParams }
  | { page: "sign-in"; params: URLSearchParams }
  | { page: "new-user"; params: URLSearchParams }
  | { page: "user"; id: string }
  | { page: "new-org" }
  | { page: "verify-email"; params: URLSearchParams }
  | { page: "password-reset"; params: URLSearchParams }
  | { page: "not-found" };

export function parseRoute(loc: { pathname: string; search: string }): Route {
  const params = new URLSearchParams(loc.search);
  const rest = loc.pathname.startsWith(BASE) ? loc.pathname.slice(BASE.length).replace(/\/+$/, "") : null;
  if (rest === null) return { page: "not-found" };
  if (rest === "" || rest === "users") return { page: "users", params };
  if (rest === "sign-in") return { page: "sign-in", params };
  if (rest === "users/new") return { page: "new-user", params };
  if (rest === "organizations/new") return { page: "new-org" };
  if (rest === "verify-email") return { page: "verify-email", params };
  if (rest === "password-reset") return { page: "password-reset", params };
  const user = /^users\/([^/]+)$/.exec(rest);
  if (user) return { page: "user", id: decodeURIComponent(user[1]) };
  return { page: "not-found" };
}

/** True for the pages a person reaches from a mail, without a token. */
export function isSelfService(route: Route): boolean {
  return route.page === "verify-email" || route.page === "password-reset";
}

export function userPath(id: string): string {
  return `${BASE}users/${encodeURIComponent(id)}`;
}

/** The self-service links as Roster's default URL templates build them. */
export function verifyEmailLink(userId: string, code: string, orgId: string): string {
  return `${location.origin}${BASE}verify-email?${new URLSearchParams({ userID: userId, code, orgID: orgId })}`;
}

export function passwordResetLink(userId: string, code: string, orgId: string): string {
  return `${location.origin}${BASE}password-reset?${new URLSearchParams({ userID: userId, code, orgID: orgId })}`;
}

type Listener = () => void;
let listener: Listener = () => {};

export function onNavigate(l: Listener): void {
  listener = l;
}

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  listener();
}
