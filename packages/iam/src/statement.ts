import { expandActionPattern, type Action } from './action.js'
import { compileConditions, type ConditionTest, type Conditions } from './condition.js'
import { Effect } from './effect.js'
import type { ResolvedContext } from './request-context.js'
import { compileResourcePattern, firstLiteralSegment, hasGlobCharacters } from './resource-pattern.js'
import { expectObject, invalidArgument, show } from './validation.js'

/**
 * One rule of a policy: `effect` applies to a request when its action is one of `actions`, its
 * normalized path matches one of `resources`, and every condition holds.
 */
export interface Statement {
  /** An optional name, unique within the policy, reported in decisions. */
  readonly sid?: string
  /** `Allow` or `Deny`. */
  readonly effect: Effect
  /** Action patterns (non-empty): an {@link Action}, `'*'`, or `'<prefix>:*'` such as `'snapshot:*'`. */
  readonly actions: readonly (Action | string)[]
  /** Resource patterns (non-empty): absolute, normalized micromatch globs (see `checkResourcePattern`). */
  readonly resources: readonly string[]
  /** Conditions on the request context, all of which must hold (see {@link Conditions}). */
  readonly conditions?: Conditions
}

/** A statement checked and compiled for evaluation. */
export interface CompiledStatement {
  /** The statement's position in its policy, from 0. */
  readonly index: number
  /** The frozen, canonical copy of the statement. */
  readonly statement: Statement
  /** Whether the statement denies. */
  readonly deny: boolean
  /** Whether the statement names `action` (a concrete action). */
  appliesTo(action: string): boolean
  /** Whether one of the resources matches `path` (normalized). */
  covers(path: string): boolean
  /** Whether the conditions hold. */
  holds(context: ResolvedContext): boolean
  /** Whether the statement has conditions (without them, `holds` is always true). */
  readonly conditional: boolean
  /** The first segments of the paths its resources can match; undefined: any. */
  readonly firstSegments: ReadonlySet<string> | undefined
}

const FIELDS = ['sid', 'effect', 'actions', 'resources', 'conditions'] as const

/** Names statement `index` for messages. */
export function describeStatement(index: number, sid: string | undefined): string {
  return sid === undefined ? `statement ${index}` : `statement ${index} (${JSON.stringify(sid)})`
}

function nonEmptyStrings(value: unknown, field: string, where: string): readonly unknown[] {
  if (!Array.isArray(value)) invalidArgument(`${where}: ${field} must be an array, not ${show(value)}`)
  if (value.length === 0) invalidArgument(`${where}: ${field} is empty (the statement could never apply)`)
  return value
}

/**
 * Checks statement `raw` (position `index`) and compiles it: actions expanded, resources
 * precompiled with micromatch, conditions compiled. Fields set to `undefined` count as absent.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for an unknown field, a bad effect, an
 * empty or invalid action or resource list, or invalid conditions.
 */
export function compileStatement(raw: unknown, index: number): CompiledStatement {
  const fields = expectObject(raw, FIELDS, `statement ${index}`)
  const { sid } = fields
  if (sid !== undefined && (typeof sid !== 'string' || sid === '')) invalidArgument(`statement ${index}: sid must be a non-empty string, not ${show(sid)}`)
  const where = describeStatement(index, sid as string | undefined)
  const { effect } = fields
  if (effect !== Effect.Allow && effect !== Effect.Deny) invalidArgument(`${where}: effect must be 'Allow' or 'Deny', not ${show(effect)}`)

  const actionList = nonEmptyStrings(fields.actions, 'actions', where)
  const actions = new Set<string>()
  for (const pattern of actionList) {
    try {
      for (const a of expandActionPattern(pattern)) actions.add(a)
    } catch (err) {
      invalidArgument(`${where}: ${(err as Error).message}`)
    }
  }

  const resourceList = nonEmptyStrings(fields.resources, 'resources', where)
  const literals = new Set<string>()
  const globs: ((path: string) => boolean)[] = []
  let firstSegments: Set<string> | undefined = new Set()
  for (const r of resourceList) {
    let matcher: (path: string) => boolean
    try {
      matcher = compileResourcePattern(r as string)
    } catch (err) {
      invalidArgument(`${where}: ${(err as Error).message}`)
    }
    literals.add(r as string) // a path equal to a resource always matches it
    const first = firstLiteralSegment(r as string)
    if (first === undefined) firstSegments = undefined
    else firstSegments?.add(first)
    if (hasGlobCharacters(r as string)) globs.push(matcher)
  }

  let conditions: Conditions | undefined
  let test: ConditionTest | undefined
  if (fields.conditions !== undefined) ({ conditions, test } = compileConditions(fields.conditions, where))

  const statement: Statement = Object.freeze({
    ...(sid !== undefined ? { sid: sid as string } : {}),
    effect,
    actions: Object.freeze([...actionList] as string[]),
    resources: Object.freeze([...resourceList] as string[]),
    ...(conditions !== undefined ? { conditions } : {}),
  })
  return {
    index,
    statement,
    deny: effect === Effect.Deny,
    appliesTo: (action) => actions.has(action),
    covers: (path) => literals.has(path) || globs.some((m) => m(path)),
    holds: test ?? (() => true),
    conditional: test !== undefined,
    firstSegments,
  }
}
