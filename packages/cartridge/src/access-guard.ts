import { AsyncLocalStorage } from 'node:async_hooks'
import { AccessDeniedError } from '@cartridge/core'
import { resolveContext, type Policy, type RequestContext, type ResolvedContext } from '@cartridge/iam'
import { defaultPrincipal } from '@cartridge/engine'
import { OPEN_ACCESS, type Access } from './file-ops.js'

/**
 * Who is asking, for the policy's conditions and the audit log: what `cart.as(context)` sets for
 * the calls made through the view it returns.
 */
export type { RequestContext } from '@cartridge/iam'

/** A request context checked once, as `as()` is called, and kept with its resolved form. */
export interface PreparedContext {
  readonly context: RequestContext
  /** The context resolved; its `time` is the caller's fixed time, or the clock when read. */
  readonly resolved: ResolvedContext
  /** The checks bound to this context (made once, on first use). */
  access?: Access
}

/**
 * Decides every request of one container against its policy (none: everything is allowed). The
 * request context travels with the call through `AsyncLocalStorage`, so a view made by
 * `cart.as(…)` carries it into transactions, streams and callbacks it starts. The guard keeps no
 * decisions (what a policy remembers belongs to that immutable policy): a policy change decides
 * the very next call.
 */
export class AccessGuard {
  #policy: Policy | undefined
  readonly #context = new AsyncLocalStorage<PreparedContext>()
  #default: PreparedContext | undefined

  /** The policy in force (undefined: none, everything is allowed). */
  get policy(): Policy | undefined {
    return this.#policy
  }

  set policy(p: Policy | undefined) {
    this.#policy = p
  }

  /**
   * Checks `context` once, for {@link AccessGuard.run}.
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for a context a policy could not evaluate.
   */
  prepare(context: RequestContext): PreparedContext {
    const resolved = resolveContext(context)
    const timed = context.time !== undefined
    // Without a fixed time, each request is at its own time: read the clock only when a condition asks.
    return { context, resolved: timed ? resolved : Object.defineProperty({ ...resolved }, 'time', { get: () => Date.now(), enumerable: true }) }
  }

  /** Runs `body` with `context` as the request context of every call it makes. */
  run<T>(context: PreparedContext, body: () => T): T {
    return this.#context.run(context, body)
  }

  #prepared(): PreparedContext {
    return this.#context.getStore() ?? (this.#default ??= this.prepare({ principal: defaultPrincipal(), source: 'api' }))
  }

  /** The context of the call being made: the one `as()` set, else the operating-system user through the API. */
  get context(): RequestContext {
    return this.#prepared().context
  }

  /** The principal of the call being made (for the audit log). */
  get principal(): string {
    return this.context.principal ?? defaultPrincipal()
  }

  /** The checks of the call being made, bound to its context now (for checks made later, in a queued operation). */
  bound(): Access {
    if (!this.#policy) return OPEN_ACCESS
    const c = this.#prepared()
    return (c.access ??= { check: (a, p, size) => this.#check(c, a, p, size), allows: (a, p) => this.#allows(c, a, p) })
  }

  /** The resolved context of one request: its time now unless the caller fixed it, and the size of a write. */
  static #at(c: PreparedContext, size: number | undefined): ResolvedContext {
    return size === undefined ? c.resolved : { ...c.resolved, time: c.resolved.time, size }
  }

  /**
   * Throws `CARTRIDGE_ACCESS_DENIED` unless the policy allows `action` on `path` (normalized by
   * the caller, with the one normalizer storage uses). `size` is a write's size, for conditions.
   */
  check(action: string, path: string, size?: number): void {
    if (this.#policy) this.#check(this.#prepared(), action, path, size)
  }

  /** Whether `action` on `path` is allowed (listings keep only what the caller may see). */
  allows(action: string, path: string): boolean {
    return this.#policy ? this.#allows(this.#prepared(), action, path) : true
  }

  #check(c: PreparedContext, action: string, path: string, size: number | undefined): void {
    const policy = this.#policy
    if (!policy) return
    const at = AccessGuard.#at(c, size)
    if (policy.allowsResolved(action, path, at)) return
    const d = policy.evaluateResolved(action, path, at)
    const context = c.context
    const who = context.principal !== undefined ? ` for ${JSON.stringify(context.principal)}` : ''
    const why = d.statement ? `statement ${d.statement.sid !== undefined ? JSON.stringify(d.statement.sid) : `#${d.statement.index}`} of policy ${JSON.stringify(policy.name)} denies it` : `no statement of policy ${JSON.stringify(policy.name)} allows it`
    throw new AccessDeniedError(`access denied: ${action} on ${path}${who} (${why})`, {
      action, path: d.path ?? path, principal: context.principal, statement: d.statement,
    })
  }

  #allows(c: PreparedContext, action: string, path: string): boolean {
    const policy = this.#policy
    return policy ? policy.allowsResolved(action, path, AccessGuard.#at(c, undefined)) : true
  }
}
