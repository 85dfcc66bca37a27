import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  GetPasswordPolicyResponseSchema,
  ResetPasswordWithCodeResponseSchema,
  VerifyEmailWithCodeResponseSchema,
  type SelfService,
} from "../gen/roster/selfservice/v1/self_service_pb.js";
import type { DomainDeps } from "../domain/deps.js";
import { passwordPolicyForPages } from "../domain/self-service/password-policy.js";
import { resetPasswordWithCode } from "../domain/self-service/reset-password-with-code.js";
import { verifyEmailWithCode } from "../domain/self-service/verify-email-with-code.js";

/**
 * roster.selfservice.v1.SelfService: proto ⇄ domain mapping only. Registered without a token
 * requirement (the code is the proof, src/domain/self-service/code-holder.ts); handlers never read
 * the principal of the request, and responses carry nothing about the user (no details, no ETag).
 */
export function createSelfService(deps: DomainDeps): Partial<ServiceImpl<typeof SelfService>> {
  return {
    async verifyEmailWithCode(req) {
      await verifyEmailWithCode(deps, { userId: req.userId, code: req.verificationCode });
      return create(VerifyEmailWithCodeResponseSchema, {});
    },

    async resetPasswordWithCode(req) {
      await resetPasswordWithCode(deps, { userId: req.userId, code: req.verificationCode, newPassword: req.newPassword });
      return create(ResetPasswordWithCodeResponseSchema, {});
    },

    getPasswordPolicy() {
      const p = passwordPolicyForPages(deps);
      return create(GetPasswordPolicyResponseSchema, {
        minLength: p.minLength,
        maxLength: p.maxLength,
        requiresLowercase: p.hasLowercase,
        requiresUppercase: p.hasUppercase,
        requiresNumber: p.hasNumber,
        requiresSymbol: p.hasSymbol,
      });
    },
  };
}
