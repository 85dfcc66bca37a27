import { create, type DescMethod, type Message } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ContextValues, ServiceImpl } from "@connectrpc/connect";
import {
  AddHumanUserResponseSchema,
  DeactivateUserResponseSchema,
  DeleteUserResponseSchema,
  GetUserByIDResponseSchema,
  LockUserResponseSchema,
  ListUsersResponseSchema,
  PasswordResetResponseSchema,
  RemovePhoneResponseSchema,
  ResendEmailCodeResponseSchema,
  ResendPhoneCodeResponseSchema,
  SendEmailCodeResponseSchema,
  SetEmailResponseSchema,
  SetPhoneResponseSchema,
  ReactivateUserResponseSchema,
  SetPasswordResponseSchema,
  UnlockUserResponseSchema,
  UpdateHumanUserResponseSchema,
  UserService,
  VerifyEmailResponseSchema,
  VerifyPhoneResponseSchema,
  type AddHumanUserRequest,
} from "../gen/zitadel/user/v2/user_service_pb.js";
import { NotificationType } from "../gen/zitadel/user/v2/password_pb.js";
import type { DomainDeps } from "../domain/deps.js";
import { addHumanUser, resolveNewUserOrg } from "../domain/users/add-human.js";
import { resendEmailCode, sendEmailCode, setEmail, verifyEmail } from "../domain/users/email-commands.js";
import { deleteUser } from "../domain/users/delete-user.js";
import { getUserById } from "../domain/users/get-user.js";
import { listUsers } from "../domain/users/list-users.js";
import { passwordReset, type PasswordResetMedium } from "../domain/users/password-reset.js";
import { removePhone, resendPhoneCode, setPhone, verifyPhone } from "../domain/users/phone-commands.js";
import { setPassword } from "../domain/users/set-password.js";
import { updateHumanUser } from "../domain/users/update-human.js";
import { deactivateUser, lockUser, reactivateUser, unlockUser } from "../domain/users/user-state.js";
import { detailsToProto, ifMatchOf, setEtag, userToProto } from "./mapping.js";
import { principalOf } from "./request-context.js";
import { listUsersInput } from "./user-queries.js";
import { addHumanInput, newUserOrgInput, emailInput, newPasswordInput, passwordInput, passwordVerification, phoneInput, profileInput } from "./user-inputs.js";
import { emailVerification, phoneVerification } from "./user-inputs.js";

/**
 * The permission check that precedes the field rules (auth.md §5, contract.md §7): AddHumanUser
 * needs `user.write` on the organization the request names.
 */
export function authorizeUserServiceRequest(deps: DomainDeps) {
  return async (req: { method: DescMethod; message: Message; header: Headers; contextValues: ContextValues }): Promise<void> => {
    if (req.method !== UserService.method.addHumanUser) return;
    const input = newUserOrgInput(req.message as AddHumanUserRequest, req.header.get("x-zitadel-orgid"));
    await resolveNewUserOrg(deps, deps.store.read, principalOf({ values: req.contextValues }), input);
  };
}

/**
 * zitadel.user.v2.UserService: proto ⇄ domain mapping only. RPCs not listed here answer
 * UNIMPLEMENTED until their issue comes.
 */
export function createUserService(deps: DomainDeps): Partial<ServiceImpl<typeof UserService>> {
  return {
    async updateHumanUser(req, ctx) {
      const result = await updateHumanUser(deps, principalOf(ctx), {
        userId: req.userId,
        username: req.username,
        profile: req.profile && profileInput(req.profile),
        email: req.email && emailInput(req.email),
        phone: req.phone && phoneInput(req.phone),
        password: req.password && passwordInput(req.password),
        ifMatch: ifMatchOf(ctx),
      });
      setEtag(ctx, result.details);
      return create(UpdateHumanUserResponseSchema, {
        details: detailsToProto(result.details),
        emailCode: result.emailCode,
        phoneCode: result.phoneCode,
      });
    },

    async addHumanUser(req, ctx) {
      const result = await addHumanUser(deps, principalOf(ctx), addHumanInput(req, ctx.requestHeader.get("x-zitadel-orgid")));
      setEtag(ctx, result.details);
      return create(AddHumanUserResponseSchema, {
        userId: result.userId,
        details: detailsToProto(result.details),
        emailCode: result.emailCode,
        phoneCode: result.phoneCode,
      });
    },

    async getUserByID(req, ctx) {
      const user = await getUserById(deps, principalOf(ctx), req.userId);
      const proto = userToProto(user);
      ctx.responseHeader.set("etag", `"${user.sequence}"`);
      return create(GetUserByIDResponseSchema, { details: proto.details, user: proto });
    },

    async listUsers(req, ctx) {
      const result = await listUsers(deps, principalOf(ctx), listUsersInput(req));
      return create(ListUsersResponseSchema, {
        details: {
          totalResult: BigInt(result.total),
          processedSequence: BigInt(result.processedSequence),
          timestamp: timestampFromDate(result.timestamp),
        },
        sortingColumn: req.sortingColumn,
        result: result.users.map(userToProto),
      });
    },

    async passwordReset(req, ctx) {
      const m = req.medium;
      const medium: PasswordResetMedium =
        m.case === "returnCode"
          ? { kind: "return" }
          : m.case === "sendLink"
            ? {
                kind: "link",
                channel: m.value.notificationType === NotificationType.SMS ? "sms" : "email",
                urlTemplate: m.value.urlTemplate,
              }
            : { kind: "default" };
      const result = await passwordReset(deps, principalOf(ctx), { userId: req.userId, medium, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(PasswordResetResponseSchema, {
        details: detailsToProto(result.details),
        verificationCode: result.verificationCode,
      });
    },

    async setPassword(req, ctx) {
      const result = await setPassword(deps, principalOf(ctx), {
        userId: req.userId,
        password: {
          newPassword: req.newPassword && newPasswordInput({ case: "password", value: req.newPassword }),
          verification: passwordVerification(req.verification),
        },
        ifMatch: ifMatchOf(ctx),
      });
      setEtag(ctx, result.details);
      return create(SetPasswordResponseSchema, { details: detailsToProto(result.details) });
    },

    async setEmail(req, ctx) {
      const result = await setEmail(deps, principalOf(ctx), { userId: req.userId, ...emailInput(req), ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(SetEmailResponseSchema, { details: detailsToProto(result.details), verificationCode: result.verificationCode });
    },

    async resendEmailCode(req, ctx) {
      const input = { userId: req.userId, delivery: emailVerification(req.verification), ifMatch: ifMatchOf(ctx) };
      const result = await resendEmailCode(deps, principalOf(ctx), input);
      setEtag(ctx, result.details);
      return create(ResendEmailCodeResponseSchema, { details: detailsToProto(result.details), verificationCode: result.verificationCode });
    },

    async sendEmailCode(req, ctx) {
      const input = { userId: req.userId, delivery: emailVerification(req.verification), ifMatch: ifMatchOf(ctx) };
      const result = await sendEmailCode(deps, principalOf(ctx), input);
      setEtag(ctx, result.details);
      return create(SendEmailCodeResponseSchema, { details: detailsToProto(result.details), verificationCode: result.verificationCode });
    },

    async verifyEmail(req, ctx) {
      const result = await verifyEmail(deps, principalOf(ctx), { userId: req.userId, code: req.verificationCode, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(VerifyEmailResponseSchema, { details: detailsToProto(result.details) });
    },

    async setPhone(req, ctx) {
      const result = await setPhone(deps, principalOf(ctx), { userId: req.userId, ...phoneInput(req), ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(SetPhoneResponseSchema, { details: detailsToProto(result.details), verificationCode: result.verificationCode });
    },

    async removePhone(req, ctx) {
      const result = await removePhone(deps, principalOf(ctx), { userId: req.userId, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(RemovePhoneResponseSchema, { details: detailsToProto(result.details) });
    },

    async resendPhoneCode(req, ctx) {
      const input = { userId: req.userId, delivery: phoneVerification(req.verification), ifMatch: ifMatchOf(ctx) };
      const result = await resendPhoneCode(deps, principalOf(ctx), input);
      setEtag(ctx, result.details);
      return create(ResendPhoneCodeResponseSchema, { details: detailsToProto(result.details), verificationCode: result.verificationCode });
    },

    async verifyPhone(req, ctx) {
      const result = await verifyPhone(deps, principalOf(ctx), { userId: req.userId, code: req.verificationCode, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(VerifyPhoneResponseSchema, { details: detailsToProto(result.details) });
    },

    // lifecycle (contract.md §9.7, §9.8)
    async deactivateUser(req, ctx) {
      const result = await deactivateUser(deps, principalOf(ctx), { userId: req.userId, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(DeactivateUserResponseSchema, { details: detailsToProto(result.details) });
    },

    async deleteUser(req, ctx) {
      const result = await deleteUser(deps, principalOf(ctx), { userId: req.userId, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(DeleteUserResponseSchema, { details: detailsToProto(result.details) });
    },

    async lockUser(req, ctx) {
      const result = await lockUser(deps, principalOf(ctx), { userId: req.userId, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(LockUserResponseSchema, { details: detailsToProto(result.details) });
    },

    async reactivateUser(req, ctx) {
      const result = await reactivateUser(deps, principalOf(ctx), { userId: req.userId, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(ReactivateUserResponseSchema, { details: detailsToProto(result.details) });
    },

    async unlockUser(req, ctx) {
      const result = await unlockUser(deps, principalOf(ctx), { userId: req.userId, ifMatch: ifMatchOf(ctx) });
      setEtag(ctx, result.details);
      return create(UnlockUserResponseSchema, { details: detailsToProto(result.details) });
    },
  };
}
