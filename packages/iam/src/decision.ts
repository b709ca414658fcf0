import type { ConcreteAction } from './action.js'

/** How a request was decided: by an `Allow`, by a `Deny`, or by no statement at all. */
export type DecisionEffect = 'Allow' | 'Deny' | 'ImplicitDeny'

/** The result of {@link Policy.evaluate}: whether a request is allowed, and why. */
export interface Decision {
  /** True only when `effect` is `'Allow'`. */
  readonly allowed: boolean
  /** `'Deny'`: a statement denied it; `'Allow'`: one allowed it and none denied it; `'ImplicitDeny'`: none matched. */
  readonly effect: DecisionEffect
  /** The deciding statement (the first matching `Deny`, else the first matching `Allow`); absent for an implicit deny. */
  readonly statement?: { readonly index: number; readonly sid?: string }
  /** The action asked for. */
  readonly action: ConcreteAction
  /** The path asked for, normalized (what the resources were matched against). */
  readonly path: string
  /** One sentence for logs and error messages. */
  readonly reason: string
}
