/**
 * The browser's way to Roster: gRPC-web with binary protobuf (`application/grpc-web+proto`),
 * through the generated service descriptors of this repository.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { SelfService } from "../../src/gen/roster/selfservice/v1/self_service_pb.js";
import { OrganizationService } from "../../src/gen/zitadel/org/v2/org_service_pb.js";
import { UserService } from "../../src/gen/zitadel/user/v2/user_service_pb.js";

const TOKEN_KEY = "roster.console.token";

/** The administrator's token lives in this tab's sessionStorage only: never in a URL or cookie. */
export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

const bearer: Interceptor = (next) => (req) => {
  const token = session.token();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

/**
 * Roster's address: the page's own origin, unless the pages were built for another host with
 * VITE_ROSTER_URL (then Roster must allow this page's origin in ROSTER_CORS_ORIGINS).
 */
const baseUrl = (import.meta.env.VITE_ROSTER_URL as string | undefined) || location.origin;
const consoleTransport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors: [bearer] });
/** The self-service pages send no token, even if this tab holds one. */
const anonymousTransport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true });

export const users: Client<typeof UserService> = createClient(UserService, consoleTransport);
export const orgs: Client<typeof OrganizationService> = createClient(OrganizationService, consoleTransport);
export const selfService: Client<typeof SelfService> = createClient(SelfService, anonymousTransport);

/** Call options that make a write conditional on the sequence the page showed (decision 5). */
export function ifMatch(sequence: bigint): { headers: Record<string, string> } {
  return { headers: { "if-match": `"${sequence}"` } };
}
