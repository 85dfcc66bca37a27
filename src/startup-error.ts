/**
 * A condition that stops Roster from starting and that the operator can fix: the message says
 * what is wrong and what to do (which variable, which file, which process). The CLI prints it
 * without a stack trace.
 */
export class StartupError extends Error {
  override readonly name = "StartupError";
}
