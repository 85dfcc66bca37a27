/**
 * Typed domain errors. Domain and service code raise these; the transport maps them to the
 * wire (gRPC status, Connect error, REST body) in exactly one place (src/server/error-mapping.ts).
 */

export type ErrorKind =
  | "InvalidArgument"
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "FailedPrecondition"
  | "Unauthenticated"
  | "Unimplemented"
  | "Internal"
  | "Unavailable"
  | "DeadlineExceeded"
  | "ResourceExhausted";

export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: ErrorKind,
    /** Stable id, e.g. `COMMAND-ugjs0upun6`; empty for errors that carry no id. */
    readonly id: string,
    /** English text without the id suffix. */
    readonly text: string,
    /** Message key, e.g. `Errors.User.NotFound` (informational). */
    readonly key = "",
  ) {
    super(id ? `${text} (${id})` : text);
  }
}

/** A field violation or decoding error: INVALID_ARGUMENT without id and without detail. */
export class FieldViolation extends DomainError {
  constructor(message: string) {
    super("InvalidArgument", "", message);
  }
}

const def =
  (kind: ErrorKind, id: string, key: string, text: string) =>
  (): DomainError =>
    new DomainError(kind, id, text, key);

/** Catalogue of errors (errors.md §9). Call the factory to get a fresh error. */
export const Errors = {
  // authentication and organization context
  authHeaderMissing: def("Unauthenticated", "", "", "auth header missing"),
  invalidAuthHeader: def("Unauthenticated", "AUTH-7fs1e", "", "invalid auth header"),
  tokenInvalid: def("Unauthenticated", "ROSTER-tok01", "Errors.Token.Invalid", "Token is invalid"),
  orgNotExisting: def("PermissionDenied", "AUTH-Bs7Ds", "", "Organisation doesn't exist"),
  originNotAllowed: def("PermissionDenied", "AUTH-DZG21", "Errors.OriginNotAllowed", 'This "Origin" is not allowed'),
  membershipNotFound: def("NotFound", "AUTHZ-cdgFk", "", "membership not found"),
  noMatchingPermissions: def("PermissionDenied", "AUTH-5mWD2", "", "No matching permissions found"),
  permissionDenied: def("PermissionDenied", "AUTHZ-HKJD33", "Errors.PermissionDenied", "No matching permissions found"),

  // users
  userNotFound: def("NotFound", "COMMAND-ugjs0upun6", "Errors.User.NotFound", "User could not be found"),
  userNotFoundQuery: def("NotFound", "QUERY-Dfbg2", "Errors.User.NotFound", "User could not be found"),
  userNotFoundReset: def("NotFound", "COMMAND-SAF4f", "Errors.User.NotFound", "User could not be found"),
  emailUserNotFound: def("NotFound", "COMMAND-ieJ2e", "Errors.User.Email.NotFound", "Email not found"),
  phoneUserNotFound: def("NotFound", "COMMAND-ieJ2e", "Errors.User.Phone.NotFound", "Phone not found"),
  usernameMissing: def("InvalidArgument", "COMMAND-2N9fs", "Errors.IDMissing", "ID missing"),
  usernameEmpty: def("InvalidArgument", "V2-zzad3", "Errors.Invalid.Argument", "Invalid argument"),
  usernameTaken: def("AlreadyExists", "V3-DKcYh", "Errors.User.AlreadyExists", "User already exists"),
  userIdTaken: def("FailedPrecondition", "COMMAND-7yiox1isql", "Errors.User.AlreadyExisting", "User already exists"),
  userNotInitialisedPassword: def("FailedPrecondition", "COMMAND-M9dse", "Errors.User.NotInitialised", "User is not yet initialized"),
  userNotInitialisedContact: def("FailedPrecondition", "COMMAND-uz0Uu", "Errors.User.NotInitialised", "User is not yet initialized"),
  userNotInitialisedReset: def("FailedPrecondition", "COMMAND-Sfe4g", "Errors.User.NotInitialised", "User is not yet initialized"),
  givenNameEmpty: def("InvalidArgument", "USER-UCej2", "Errors.User.Profile.FirstNameEmpty", "Given name in profile is empty"),
  familyNameEmpty: def("InvalidArgument", "USER-4hB7d", "Errors.User.Profile.LastNameEmpty", "Family name in profile is empty"),
  idpConfigNotExisting: def("FailedPrecondition", "COMMAND-39nf2", "Errors.IDPConfig.NotExisting", "Identity Provider Configuration doesn't exist"),
  unimplemented: def("Unimplemented", "ROSTER-unimp", "Errors.Unimplemented", "Not implemented yet"),

  // email and phone
  emailInvalid: def("InvalidArgument", "EMAIL-599BI", "Errors.User.Email.Invalid", "Email is invalid"),
  emailHasDisplayName: def("InvalidArgument", "EMAIL-599GV", "Errors.User.Email.Invalid", "Email is invalid"),
  phoneInvalid: def("InvalidArgument", "PHONE-so0wa", "Errors.User.Phone.Invalid", "Phone is invalid"),
  emailNotChanged: def("FailedPrecondition", "COMMAND-Uch5e", "Errors.User.Email.NotChanged", "Email not changed"),
  phoneNotChanged: def("FailedPrecondition", "COMMAND-Uch5e", "Errors.User.Phone.NotChanged", "Phone not changed"),
  urlTemplateMalformed: def("InvalidArgument", "DOMAIN-oGh5e", "Errors.User.InvalidURLTemplate", "URL Template is invalid"),
  urlTemplateUnsupported: def("InvalidArgument", "DOMAIN-ieYa7", "Errors.User.InvalidURLTemplate", "URL Template is invalid"),

  // codes
  emailCodeEmpty: def("FailedPrecondition", "EMAIL-5w5ilin4yt", "Errors.User.Code.Empty", "Code is empty"),
  phoneCodeEmpty: def("FailedPrecondition", "PHONE-5xrra88eq8", "Errors.User.Code.Empty", "Code is empty"),
  contactCodeInvalid: def("InvalidArgument", "COMMAND-eis9R", "Errors.User.Code.Invalid", "Code is invalid"),
  resetCodeInvalid: def("InvalidArgument", "CODE-woT0xc", "Errors.User.Code.Invalid", "Code is invalid"),
  resetCodeExpired: def("FailedPrecondition", "CODE-QvUQ4P", "Errors.User.Code.Expired", "Code is expired"),
  resetCodeNotFound: def("FailedPrecondition", "COMMAND-2M9fs", "Errors.User.Code.NotFound", "Code not found"),

  // passwords
  passwordEmpty: def("InvalidArgument", "COMMAND-3klek4sbns", "Errors.User.Password.Empty", "Password is empty"),
  passwordHashNotSupported: def("InvalidArgument", "USER-oz74onzvqr", "Errors.User.Password.NotSupported", "Password hash encoding not supported. Only bcrypt hashes ($2a$, $2b$, $2y$) can be imported"),
  passwordHashCostTooHigh: (maxCost: number): DomainError =>
    new DomainError("InvalidArgument", "ROSTER-pwc01", `Password hash cost is too high (bcrypt cost at most ${maxCost} can be imported)`, "Errors.User.Password.HashCostTooHigh"),
  passwordTooLong: def("InvalidArgument", "ROSTER-pw072", "Errors.User.Password.TooLong", "Password is too long (at most 72 bytes)"),
  passwordInvalid: def("InvalidArgument", "COMMAND-3M0fs", "Errors.User.Password.Invalid", "Password is invalid"),
  passwordNotSet: def("FailedPrecondition", "COMMAND-Fds3s", "Errors.User.Password.NotSet", "User has not set a password"),
  passwordNotChanged: def("FailedPrecondition", "COMMAND-Aesh5", "Errors.User.Password.NotChanged", "New password cannot be the same as your current password"),
  policyMinLength: def("InvalidArgument", "DOMAIN-HuJf6", "Errors.User.PasswordComplexityPolicy.MinLength", "Password is too short"),
  policyHasLower: def("InvalidArgument", "DOMAIN-co3Xw", "Errors.User.PasswordComplexityPolicy.HasLower", "Password must contain lower case"),
  policyHasUpper: def("InvalidArgument", "DOMAIN-VoaRj", "Errors.User.PasswordComplexityPolicy.HasUpper", "Password must contain upper case"),
  policyHasNumber: def("InvalidArgument", "DOMAIN-ZBv4H", "Errors.User.PasswordComplexityPolicy.HasNumber", "Password must contain number"),
  policyHasSymbol: def("InvalidArgument", "DOMAIN-ZDLwA", "Errors.User.PasswordComplexityPolicy.HasSymbol", "Password must contain symbol"),

  // state changes (contract.md §9.7)
  userShouldBeActiveOrInitial: def("FailedPrecondition", "COMMAND-lgws8wtsqf", "Errors.User.ShouldBeActiveOrInitial", "User is not active or initial"),
  userNotLocked: def("FailedPrecondition", "COMMAND-olb9vb0oca", "Errors.User.NotLocked", "User is not locked"),
  userCantDeactivateInitial: def("FailedPrecondition", "COMMAND-gvx4kct9r2", "Errors.User.CantDeactivateInitial", "User with state initial can only be deleted not deactivated"),
  userAlreadyInactive: def("FailedPrecondition", "COMMAND-5gunjw0cd7", "Errors.User.AlreadyInactive", "User already inactive"),
  userNotInactive: def("FailedPrecondition", "COMMAND-s5qqcz97hf", "Errors.User.NotInactive", "User is not inactive"),

  // organizations
  orgAlreadyExists: def("AlreadyExists", "V3-DKcYh", "Errors.Org.AlreadyExists", "Organisation already exists"),
  orgIdReserved: def("InvalidArgument", "ROSTER-org01", "Errors.Org.IdReserved", "Organization ID is reserved"),
  roleUnknown: def("InvalidArgument", "ROSTER-role1", "Errors.Org.Role.Unknown", "Role is unknown"),

  // lists
  queryLimitExceeded: def("InvalidArgument", "QUERY-4M0fs", "Errors.Query.LimitExceeded", "Limit exceeded"),
  queryTooManyNestingLevels: def("InvalidArgument", "USER-zsQ97", "Errors.Query.TooManyNestingLevels", "Too many query nesting levels (Max 20)"),
  queryInvalidRequest: def("InvalidArgument", "ROSTER-qry01", "Errors.Query.InvalidRequest", "Request is invalid"),

  // concurrency, internal
  sequenceMismatch: def("FailedPrecondition", "ROSTER-seq01", "Errors.User.SequenceMismatch", "User has been changed since the given sequence"),
  ifMatchInvalid: def("InvalidArgument", "ROSTER-seq02", "Errors.Request.IfMatchInvalid", "If-Match must be a sequence number"),
  internal: def("Internal", "ROSTER-int01", "Errors.Internal", "An internal error occurred"),
  shuttingDown: def("Unavailable", "ROSTER-shut1", "Errors.ShuttingDown", "The server is shutting down, try again later"),
  databaseUnavailable: def("Unavailable", "ROSTER-db001", "Errors.Database.Unavailable", "The database is unavailable, try again later"),
} as const;
