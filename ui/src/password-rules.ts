/**
 * The password complexity policy as Roster checks it (no DOM, no Node APIs): length in UTF-8 bytes,
 * ASCII character classes, at most 72 bytes. A unit test holds it against the server's own check.
 */
export interface PolicyView {
  minLength: number;
  maxLength: number;
  requiresLowercase: boolean;
  requiresUppercase: boolean;
  requiresNumber: boolean;
  requiresSymbol: boolean;
}

export interface Rule {
  key: "minLength" | "lowercase" | "uppercase" | "number" | "symbol" | "maxLength";
  text: string;
  met: boolean;
}

const bytes = (s: string): number => new TextEncoder().encode(s).length;

/** Every rule of the policy that applies, in the order the server checks them, with its state. */
export function passwordRules(password: string, p: PolicyView): Rule[] {
  const rules: Rule[] = [{ key: "minLength", text: `At least ${p.minLength} bytes long`, met: bytes(password) >= p.minLength }];
  if (p.requiresLowercase) rules.push({ key: "lowercase", text: "A lower-case letter (a–z)", met: /[a-z]/.test(password) });
  if (p.requiresUppercase) rules.push({ key: "uppercase", text: "An upper-case letter (A–Z)", met: /[A-Z]/.test(password) });
  if (p.requiresNumber) rules.push({ key: "number", text: "A digit (0–9)", met: /[0-9]/.test(password) });
  if (p.requiresSymbol) rules.push({ key: "symbol", text: "A symbol (anything but a–z, A–Z, 0–9)", met: /[^A-Za-z0-9]/u.test(password) });
  rules.push({ key: "maxLength", text: `At most ${p.maxLength} bytes`, met: bytes(password) <= p.maxLength });
  return rules;
}

export function passwordAcceptable(password: string, p: PolicyView): boolean {
  return passwordRules(password, p).every((r) => r.met);
}
