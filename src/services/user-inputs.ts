import type { SetHumanEmail } from "../gen/zitadel/user/v2/email_pb.js";
import type { SetHumanPhone } from "../gen/zitadel/user/v2/phone_pb.js";
import type { Password, HashedPassword, SetPassword } from "../gen/zitadel/user/v2/password_pb.js";
import type { SetHumanProfile } from "../gen/zitadel/user/v2/user_pb.js";
import type { AddHumanUserRequest } from "../gen/zitadel/user/v2/user_service_pb.js";
import type {
  EmailInput,
  EmailVerification,
  NewPassword,
  PasswordInput,
  PasswordVerification,
  PhoneInput,
  PhoneVerification,
  ProfileInput,
} from "../domain/users/inputs.js";
import type { AddHumanUserInput, NewUserOrgInput } from "../domain/users/add-human.js";

/** Proto request parts → plain domain inputs. */

export function profileInput(p: SetHumanProfile): ProfileInput {
  return {
    givenName: p.givenName,
    familyName: p.familyName,
    nickName: p.nickName,
    displayName: p.displayName,
    preferredLanguage: p.preferredLanguage,
    gender: p.gender,
  };
}

/**
 * The `verification` oneof of SetHumanEmail and SetEmailRequest (same members);
 * ResendEmailCodeRequest and SendEmailCodeRequest have the same without `is_verified`.
 */
export function emailVerification<V extends SetHumanEmail["verification"]>(v: V): EmailVerificationOf<V> {
  return (
    v.case === "sendCode"
      ? { kind: "send", urlTemplate: v.value.urlTemplate }
      : v.case === "returnCode"
        ? { kind: "return" }
        : v.case === "isVerified"
          ? { kind: "verified", value: v.value }
          : { kind: "none" }
  ) as EmailVerificationOf<V>;
}

/** A oneof without `is_verified` maps to a verification that cannot be `verified`. */
type EmailVerificationOf<V> = V extends { case: "isVerified" } ? EmailVerification : Exclude<EmailVerification, { kind: "verified" }>;

/** SetHumanEmail, or the same fields of SetEmailRequest. */
export function emailInput(e: Pick<SetHumanEmail, "email" | "verification">): EmailInput {
  return { email: e.email, verification: emailVerification(e.verification) };
}

/** The `verification` oneof of SetHumanPhone and SetPhoneRequest; ResendPhoneCodeRequest's lacks `is_verified`. */
export function phoneVerification<V extends SetHumanPhone["verification"]>(v: V): PhoneVerificationOf<V> {
  return (
    v.case === "sendCode" ? { kind: "send" } : v.case === "returnCode" ? { kind: "return" } : v.case === "isVerified" ? { kind: "verified" } : { kind: "none" }
  ) as PhoneVerificationOf<V>;
}

/** A oneof without `is_verified` maps to a verification that cannot be `verified`. */
type PhoneVerificationOf<V> = V extends { case: "isVerified" } ? PhoneVerification : Exclude<PhoneVerification, { kind: "verified" }>;

/** SetHumanPhone, or the same fields of SetPhoneRequest. */
export function phoneInput(p: Pick<SetHumanPhone, "phone" | "verification">): PhoneInput {
  return { phone: p.phone, verification: phoneVerification(p.verification) };
}

export function newPasswordInput(
  t: { case: "password"; value: Password } | { case: "hashedPassword"; value: HashedPassword } | { case: undefined; value?: undefined },
): NewPassword | undefined {
  if (t.case === "password") return { kind: "plain", password: t.value.password, changeRequired: t.value.changeRequired };
  if (t.case === "hashedPassword") return { kind: "hashed", hash: t.value.hash, changeRequired: t.value.changeRequired };
  return undefined;
}

/** The `verification` oneof of SetPassword and SetPasswordRequest (same members). */
export function passwordVerification(
  v: { case: "currentPassword"; value: string } | { case: "verificationCode"; value: string } | { case: undefined; value?: undefined },
): PasswordVerification {
  if (v.case === "currentPassword") return { kind: "current", password: v.value };
  if (v.case === "verificationCode") return { kind: "code", code: v.value };
  return { kind: "none" };
}

export function passwordInput(p: SetPassword): PasswordInput {
  return { newPassword: newPasswordInput(p.passwordType), verification: passwordVerification(p.verification) };
}

/** The parts of AddHumanUserRequest that name the new user's organization (auth.md §4). */
export function newUserOrgInput(r: AddHumanUserRequest, orgIdHeader: string | null): NewUserOrgInput {
  const org = r.organization?.org;
  return {
    organization:
      org?.case === "orgId" ? { orgId: org.value } : org?.case === "orgDomain" ? { orgDomain: org.value } : undefined,
    orgIdHeader,
  };
}

export function addHumanInput(r: AddHumanUserRequest, orgIdHeader: string | null): AddHumanUserInput {
  return {
    userId: r.userId,
    username: r.username,
    ...newUserOrgInput(r, orgIdHeader),
    // presence of profile and email is a field rule, checked before the handler runs
    profile: profileInput(r.profile!),
    email: emailInput(r.email!),
    phone: r.phone ? phoneInput(r.phone) : undefined,
    metadata: r.metadata.map((m) => ({ key: m.key, value: m.value })),
    password: newPasswordInput(r.passwordType),
    idpLinkCount: r.idpLinks.length,
    totpSecret: r.totpSecret,
  };
}
