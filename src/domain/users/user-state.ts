import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors, type DomainError } from "../errors.js";
import type { UserState } from "../store.js";
import type { Details } from "./change-set.js";
import { requireLiveUser, requireSelfOrWrite } from "./guards.js";
import { runUserCommand } from "./run-user-command.js";

/** The states a user that is not deleted can be in; a deleted user is "not found". */
export type LiveState = Exclude<UserState, "deleted">;

export type StateRpc = "LockUser" | "UnlockUser" | "DeactivateUser" | "ReactivateUser";

export interface StateTransition {
  /** For every live state: the state the RPC leads to, or the error refusing it (FAILED_PRECONDITION). */
  from: Readonly<Record<LiveState, LiveState | (() => DomainError)>>;
  /** The event recorded on success, with `{ old, new }` state (decision 7). */
  event: string;
}

/**
 * The state table of contract.md §9.7. These RPCs apply to users of any type (human or machine):
 * the spec makes only a missing or deleted user "not found".
 */
export const STATE_TRANSITIONS: Readonly<Record<StateRpc, StateTransition>> = {
  LockUser: {
    from: {
      active: "locked",
      initial: "locked",
      inactive: Errors.userShouldBeActiveOrInitial,
      locked: Errors.userShouldBeActiveOrInitial,
    },
    event: "user.locked",
  },
  UnlockUser: {
    from: {
      locked: "active",
      active: Errors.userNotLocked,
      inactive: Errors.userNotLocked,
      initial: Errors.userNotLocked,
    },
    event: "user.unlocked",
  },
  DeactivateUser: {
    from: {
      active: "inactive",
      locked: "inactive",
      initial: Errors.userCantDeactivateInitial,
      inactive: Errors.userAlreadyInactive,
    },
    event: "user.deactivated",
  },
  ReactivateUser: {
    from: {
      inactive: "active",
      active: Errors.userNotInactive,
      locked: Errors.userNotInactive,
      initial: Errors.userNotInactive,
    },
    event: "user.reactivated",
  },
};

export interface UserStateInput {
  userId: string;
  /** Raw `if-match` header value (decision 5). */
  ifMatch?: string | null;
}

/**
 * One RPC of the state table. Order (contract.md §9.7): not found → state precondition →
 * permission: write (self or `user.write`) → if-match → event. A LOCKED or INACTIVE user's own
 * tokens stop working at its next request, because authentication requires an ACTIVE caller.
 */
export async function changeUserState(
  deps: DomainDeps,
  principal: Principal,
  rpc: StateRpc,
  input: UserStateInput,
): Promise<{ details: Details }> {
  const transition = STATE_TRANSITIONS[rpc];
  const target = (state: UserState): LiveState => {
    const outcome = transition.from[state as LiveState];
    if (typeof outcome === "function") throw outcome();
    return outcome;
  };
  return runUserCommand(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard(stored) {
      const user = requireLiveUser(stored);
      target(user.state);
      requireSelfOrWrite(deps, principal, user);
      return user;
    },
    plan({ user, draft, changes }) {
      draft.state = target(user.state);
      changes.add(transition.event, { old: user.state, new: draft.state });
      return {};
    },
  });
}

export const lockUser = (deps: DomainDeps, principal: Principal, input: UserStateInput) => changeUserState(deps, principal, "LockUser", input);
export const unlockUser = (deps: DomainDeps, principal: Principal, input: UserStateInput) => changeUserState(deps, principal, "UnlockUser", input);
export const deactivateUser = (deps: DomainDeps, principal: Principal, input: UserStateInput) =>
  changeUserState(deps, principal, "DeactivateUser", input);
export const reactivateUser = (deps: DomainDeps, principal: Principal, input: UserStateInput) =>
  changeUserState(deps, principal, "ReactivateUser", input);
