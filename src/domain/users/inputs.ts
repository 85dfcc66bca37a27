/** Plain inputs of the user commands, as the service layer maps them from the proto requests. */

export type EmailVerification =
  | { kind: "send"; urlTemplate?: string }
  | { kind: "return" }
  | { kind: "verified"; value: boolean }
  | { kind: "none" };

export interface EmailInput {
  email: string;
  verification: EmailVerification;
}

export type PhoneVerification = { kind: "send" } | { kind: "return" } | { kind: "verified" } | { kind: "none" };

export interface PhoneInput {
  phone: string;
  verification: PhoneVerification;
}

export interface ProfileInput {
  givenName: string;
  familyName: string;
  nickName?: string;
  displayName?: string;
  preferredLanguage?: string;
  gender?: number;
}

export type NewPassword =
  | { kind: "plain"; password: string; changeRequired: boolean }
  | { kind: "hashed"; hash: string; changeRequired: boolean };

export type PasswordVerification =
  | { kind: "current"; password: string }
  | { kind: "code"; code: string }
  | { kind: "none" };

export interface PasswordInput {
  newPassword?: NewPassword;
  verification: PasswordVerification;
}
