import { parsePhoneNumberWithError } from "libphonenumber-js";
import { Errors } from "../errors.js";

/** Numbers without a country calling code are read as Swiss (update-human-user.md §5). */
const DEFAULT_REGION = "CH";

/**
 * Normalises a phone number to E.164. Only parsing is done: a number that parses but is not
 * valid in its numbering plan is accepted, as ZITADEL does. Extensions and a `tel:` prefix are
 * dropped because E.164 has no place for them.
 */
export function normalizePhone(input: string): string {
  try {
    return parsePhoneNumberWithError(input, DEFAULT_REGION).number;
  } catch {
    throw Errors.phoneInvalid();
  }
}
