import type { SetHumanEmail } from "../gen/zitadel/user/v2/email_pb.js";
import type { SetHumanPhone } from "../gen/zitadel/user/v2/phone_pb.js";
import type { Password, HashedPassword, SetPassword } from "../gen/zitadel/user/v2/password_pb.js";
import type { SetHumanProfile } from "../gen/zitadel/user/v2/user_pb.js";
import type { AddHumanUserRequest } from "../gen/zitadel/user/v2/user_service_pb.js";
import type { EmailInput, NewPassword, PasswordInput, PasswordVerification, PhoneInput, ProfileInput } from "../domain/users/inputs.js";
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

export function emailInput(e: SetHumanEmail): EmailInput {
  const v = e.verification;
  return {
    email: e.email,
    verification:
      v.case === "sendCode"
        ? { kind: "send", urlTemplate: v.value.urlTemplate }
        : v.case === "returnCode"
          ? { kind: "return" }
          : v.case === "isVerified"
            ? { kind: "verified", value: v.value }
            : { kind: "none" },
  };
}

export function phoneInput(p: SetHumanPhone): PhoneInput {
  const v = p.verification;
  return {
    phone: p.phone,
    verification:
      v.case === "sendCode" ? { kind: "send" } : v.case === "returnCode" ? { kind: "return" } : v.case === "isVerified" ? { kind: "verified" } : { kind: "none" },
  };
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
