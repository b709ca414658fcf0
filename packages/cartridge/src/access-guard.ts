import { AsyncLocalStorage } from 'node:async_hooks'
import { AccessDeniedError } from '@cartridge/core'
import type { Policy, RequestContext } from '@cartridge/iam'
import { defaultPrincipal } from './audit-trail.js'
import { OPEN_ACCESS, type Access } from './file-ops.js'

/**
 * Who is asking, for the policy's conditions and the audit log: what `cart.as(context)` sets for
 * the calls made through the view it returns.
 */
export type { RequestContext } from '@cartridge/iam'

/**
 * Decides every request of one container against its policy (none: everything is allowed). The
 * request context travels with the call through `AsyncLocalStorage`, so a view made by
 * `cart.as(…)` carries it into transactions, streams and callbacks it starts. Nothing is cached:
 * a policy change decides the very next call.
 */
export class AccessGuard {
  #policy: Policy | undefined
  readonly #context = new AsyncLocalStorage<RequestContext>()

  /** The policy in force (undefined: none, everything is allowed). */
  get policy(): Policy | undefined {
    return this.#policy
  }

  set policy(p: Policy | undefined) {
    this.#policy = p
  }

  /** Runs `body` with `context` as the request context of every call it makes. */
  run<T>(context: RequestContext, body: () => T): T {
    return this.#context.run(context, body)
  }

  /** The context of the call being made: the one `as()` set, else the operating-system user through the API. */
  get context(): RequestContext {
    return this.#context.getStore() ?? { principal: defaultPrincipal(), source: 'api' }
  }

  /** The principal of the call being made (for the audit log). */
  get principal(): string {
    return this.context.principal ?? defaultPrincipal()
  }

  /** The checks of the call being made, bound to its context now (for checks made later, in a queued operation). */
  bound(): Access {
    if (!this.#policy) return OPEN_ACCESS
    const context = this.context
    return { check: (a, p, size) => this.run(context, () => this.check(a, p, size)), allows: (a, p) => this.run(context, () => this.allows(a, p)) }
  }

  /**
   * Throws `CARTRIDGE_ACCESS_DENIED` unless the policy allows `action` on `path` (normalized by
   * the caller, with the one normalizer storage uses). `size` is a write's size, for conditions.
   */
  check(action: string, path: string, size?: number): void {
    const policy = this.#policy
    if (!policy) return
    const context = this.context
    const d = policy.evaluate({ action, path, context: size === undefined ? { ...context, time: context.time ?? new Date() } : { ...context, size, time: context.time ?? new Date() } })
    if (d.allowed) return
    const who = context.principal !== undefined ? ` for ${JSON.stringify(context.principal)}` : ''
    const why = d.statement ? `statement ${d.statement.sid !== undefined ? JSON.stringify(d.statement.sid) : `#${d.statement.index}`} of policy ${JSON.stringify(policy.name)} denies it` : `no statement of policy ${JSON.stringify(policy.name)} allows it`
    throw new AccessDeniedError(`access denied: ${action} on ${path}${who} (${why})`, {
      action, path: d.path ?? path, principal: context.principal, statement: d.statement,
    })
  }

  /** Whether `action` on `path` is allowed (listings keep only what the caller may see). */
  allows(action: string, path: string): boolean {
    const policy = this.#policy
    if (!policy) return true
    const context = this.context
    return policy.evaluate({ action, path, context: { ...context, time: context.time ?? new Date() } }).allowed
  }
}
