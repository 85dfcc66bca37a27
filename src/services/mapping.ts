import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { DetailsSchema, type Details } from "../gen/zitadel/object/v2/object_pb.js";
import { HumanUserSchema, MachineUserSchema, UserSchema, UserState, type User } from "../gen/zitadel/user/v2/user_pb.js";
import { HumanProfileSchema } from "../gen/zitadel/user/v2/user_pb.js";
import { HumanEmailSchema } from "../gen/zitadel/user/v2/email_pb.js";
import { HumanPhoneSchema } from "../gen/zitadel/user/v2/phone_pb.js";
import type { Details as DomainDetails } from "../domain/users/change-set.js";
import type { UserRecord, UserState as DomainUserState } from "../domain/store.js";

export function detailsToProto(d: DomainDetails): Details {
  return create(DetailsSchema, {
    sequence: BigInt(d.sequence),
    changeDate: timestampFromDate(d.changeDate),
    resourceOwner: d.resourceOwner,
    creationDate: d.creationDate ? timestampFromDate(d.creationDate) : undefined,
  });
}

/** Sets `ETag: "<sequence>"` on a single-user response (decision 5). */
export function setEtag(ctx: HandlerContext, d: DomainDetails): void {
  ctx.responseHeader.set("etag", `"${d.sequence}"`);
}

/** The raw `if-match` header, parsed by the domain (decision 5). */
export function ifMatchOf(ctx: HandlerContext): string | null {
  return ctx.requestHeader.get("if-match");
}

const STATES: Record<DomainUserState, UserState> = {
  active: UserState.ACTIVE,
  inactive: UserState.INACTIVE,
  deleted: UserState.DELETED,
  locked: UserState.LOCKED,
  initial: UserState.INITIAL,
};

/** The read model of a user (contract.md §6.2): login names are the username alone for now. */
export function userToProto(u: UserRecord): User {
  const details = detailsToProto({ sequence: u.sequence, changeDate: u.changedAt, resourceOwner: u.orgId, creationDate: u.createdAt });
  const common = {
    userId: u.id,
    state: STATES[u.state],
    username: u.username,
    loginNames: [u.username],
    preferredLoginName: u.username,
  };
  const type: User["type"] =
    u.type === "machine"
      ? { case: "machine", value: create(MachineUserSchema, { name: u.machineName, description: u.machineDescription }) }
      : {
          case: "human",
          value: create(HumanUserSchema, {
            ...common,
            profile: create(HumanProfileSchema, {
              givenName: u.givenName,
              familyName: u.familyName,
              nickName: u.nickName,
              displayName: u.displayName,
              preferredLanguage: u.preferredLanguage,
              gender: u.gender,
            }),
            email: create(HumanEmailSchema, { email: u.email, isVerified: u.emailVerified }),
            phone: create(HumanPhoneSchema, { phone: u.phone, isVerified: u.phoneVerified }),
            passwordChangeRequired: u.passwordChangeRequired,
            passwordChanged: u.passwordChangedAt ? timestampFromDate(u.passwordChangedAt) : undefined,
          }),
        };
  return create(UserSchema, { ...common, details, type });
}
