/**
 * The benchmark's anchor: a bare connect-node handler of the same two RPCs on the same transport
 * (HTTP/2 cleartext for gRPC, gRPC-web and Connect; HTTP/1.1 JSON for REST), answering constant
 * messages of the shape Roster answers, with no authentication and no database. What Roster
 * achieves relative to it is what Roster's own work costs.
 */
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { UserService, GetUserByIDResponseSchema, UpdateHumanUserResponseSchema } from "../src/gen/zitadel/user/v2/user_service_pb.js";

const now = timestampFromDate(new Date());
const details = { sequence: 42n, changeDate: now, resourceOwner: "300000000000000001" };
const user = (userId: string) =>
  create(GetUserByIDResponseSchema, {
    details,
    user: {
      userId,
      details,
      state: 1,
      username: "bench-user",
      loginNames: ["bench-user"],
      preferredLoginName: "bench-user",
      type: {
        case: "human",
        value: {
          profile: { givenName: "Bench", familyName: "User", nickName: "n1", displayName: "Bench User", preferredLanguage: "en" },
          email: { email: "bench@example.com", isVerified: true },
          phone: {},
        },
      },
    },
  });

const routes = (router: ConnectRouter) =>
  router.service(UserService, {
    updateHumanUser: () => create(UpdateHumanUserResponseSchema, { details }),
    getUserByID: (req) => user(req.userId),
  });

const h2 = http2.createServer(connectNodeAdapter({ routes }));
const h1 = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const auth = req.headers.authorization;
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
    if (!auth || (req.method === "PUT" && !body)) {
      res.writeHead(400).end();
      return;
    }
    const id = (req.url ?? "").split("/").pop() ?? "";
    const out = req.method === "PUT" ? toJson(UpdateHumanUserResponseSchema, create(UpdateHumanUserResponseSchema, { details })) : toJson(GetUserByIDResponseSchema, user(id));
    const text = JSON.stringify(out);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
  });
});
await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
await new Promise<void>((r) => h1.listen(0, "127.0.0.1", r));
process.send?.({ ready: true, h2Port: (h2.address() as AddressInfo).port, h1Port: (h1.address() as AddressInfo).port });
process.on("SIGTERM", () => process.exit(0));
