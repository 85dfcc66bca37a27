/**
 * Principals recently resolved from a token, so that a request usually costs no round trip for
 * authentication. Bounded (least recently used entries go first) and short-lived: an entry is
 * used for at most `ttlMs` after it was read, the backstop for a change whose notification was
 * lost. Changes are dropped at once through `invalidate` (this process's commits and the other
 * processes' notifications); a lookup that started before an invalidation is not cached.
 */
import type { Principal } from "../domain/principal.js";

interface CachedPrincipal {
  principal: Principal;
  /** A personal access token's expiry (checked on every use); null for none. */
  expiresAt: Date | null;
}

interface Entry extends CachedPrincipal {
  storedAt: number;
}

export interface PrincipalCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** Monotonic milliseconds (default performance.now). */
  clock?: () => number;
}

export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  private readonly clock: () => number;

  constructor(private readonly opts: PrincipalCacheOptions) {
    this.clock = opts.clock ?? (() => performance.now());
  }

  get(key: string): CachedPrincipal | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (this.clock() - entry.storedAt >= this.opts.ttlMs) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry;
  }

  /** A token for a later `set`: the lookup it belongs to started now. */
  begin(): number {
    return this.generation;
  }

  /** Stores what a lookup begun at `ticket` found, unless something was invalidated meanwhile. */
  set(key: string, value: CachedPrincipal, ticket: number): void {
    if (ticket !== this.generation || this.opts.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { ...value, storedAt: this.clock() });
    while (this.entries.size > this.opts.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  /** Drops every entry of the user; undefined drops everything. */
  invalidate(userId: string | undefined): void {
    this.generation++;
    if (userId === undefined) {
      this.entries.clear();
      return;
    }
    for (const [key, entry] of this.entries) if (entry.principal.userId === userId) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
