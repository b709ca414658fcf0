import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { Action, Policy } from '@cartridge/iam'
import type { AccessGuard, RequestContext } from './access-guard.js'
import { closedError, type CartridgeCore } from './cartridge-core.js'

// The access operations of `Cartridge`: views that carry a request context, and the policy
// every call is decided by.

/** See `Cartridge.as`: `target` seen through a proxy whose every call runs with `context` in `guard`. */
export function contextView<T extends object>(target: T, guard: AccessGuard, context: RequestContext): T {
  if (typeof context !== 'object' || context === null) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'as() takes a context object: { principal?, tags?, source? }')
  const ctx = guard.prepare({ ...context, ...(context.tags ? { tags: { ...context.tags } } : {}) })
  return new Proxy(target, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function' || prop === 'constructor') return value
      return (...args: unknown[]) => {
        const result = guard.run(ctx, () => (value as (...a: unknown[]) => unknown).apply(target, args))
        // An async generator's body runs on each next(): keep the context there too.
        if (result && typeof result === 'object' && typeof (result as AsyncGenerator)[Symbol.asyncIterator] === 'function' && typeof (result as AsyncGenerator).next === 'function') {
          const it = result as AsyncGenerator
          return {
            next: (...a: [unknown?]) => guard.run(ctx, () => it.next(...a)),
            return: (v: unknown) => guard.run(ctx, () => it.return(v)),
            throw: (e: unknown) => guard.run(ctx, () => it.throw(e)),
            [Symbol.asyncIterator]() {
              return this
            },
          }
        }
        return result
      }
    },
  })
}

/** See `Cartridge.setPolicy`. */
export async function setPolicy(core: CartridgeCore, policy: Policy | null, options: { persist?: boolean }): Promise<void> {
  if (core.closed) throw closedError()
  if (policy !== null && !(policy instanceof Policy)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'setPolicy takes a Policy (Policy.fromJSON for its JSON form) or null')
  core.allow(Action.PolicyAdmin)
  if (options.persist) {
    const json = policy ? new TextEncoder().encode(JSON.stringify(policy.toJSON())) : undefined
    await core.queue.alone(core.as((e) => {
      e.setStoredPolicy(json)
      e.note({ action: 'policy.set', detail: policy ? `${policy.name} (${policy.statements.length} statements)` : 'none' })
    }))
  }
  core.guard.policy = policy ?? undefined
}

/** See `Cartridge.getPolicy`. */
export function getPolicy(core: CartridgeCore): Policy | undefined {
  core.allow(Action.PolicyAdmin)
  return core.guard.policy
}
