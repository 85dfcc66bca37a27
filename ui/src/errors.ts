import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../src/gen/zitadel/message_pb.js";
import { h, type Child } from "./dom.js";

export interface ShownError {
  code: Code;
  /** The English text, without the id suffix. */
  message: string;
  /** ZITADEL's error id from the zitadel.v1.ErrorDetail, when the error has one. */
  id?: string;
}

/** The message and the ZITADEL error id, read from the error's zitadel.v1.ErrorDetail. */
export function describeError(err: unknown): ShownError {
  const ce = ConnectError.from(err);
  const [detail] = ce.findDetails(ErrorDetailSchema);
  if (detail) return { code: ce.code, message: detail.message, id: detail.id || undefined };
  return { code: ce.code, message: ce.rawMessage || Code[ce.code] };
}

export const SEQUENCE_MISMATCH = "ROSTER-seq01";

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v, k.replace(/[a-z][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toUpperCase()]),
);

/** An alert box: what went wrong, the error id, and the status code. */
export function errorBox(err: unknown, ...extra: Child[]): HTMLDivElement {
  const e = describeError(err);
  const lead =
    e.code === Code.Unimplemented
      ? "This server does not offer this action yet."
      : e.code === Code.Unavailable || e.code === Code.Unknown
        ? "Roster could not be reached or did not answer."
        : null;
  return h(
    "div",
    { class: "error", role: "alert" },
    lead ? h("p", null, lead) : null,
    h("p", { class: "error-message" }, e.message),
    h(
      "p",
      { class: "error-meta" },
      e.id ? ["Error ID: ", h("code", { class: "error-id" }, e.id), " · "] : null,
      "Status: ",
      h("code", null, CODE_NAMES[e.code] ?? String(e.code)),
    ),
    e.code === Code.Unauthenticated && !location.pathname.endsWith("/sign-in")
      ? h("p", null, h("a", { href: `/ui/sign-in?${new URLSearchParams({ return: location.pathname + location.search })}` }, "Sign in again"))
      : null,
    extra,
  );
}

export function isCode(err: unknown, code: Code): boolean {
  return ConnectError.from(err).code === code;
}
