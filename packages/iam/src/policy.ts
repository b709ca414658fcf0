import { normalizePath } from '@cartridge/core'
import { isAction, type Action, type ConcreteAction } from './action.js'
import type { Decision } from './decision.js'
import { resolveContext, type RequestContext } from './request-context.js'
import { compileStatement, describeStatement, type CompiledStatement, type Statement } from './statement.js'
import { expectObject, invalidArgument, show } from './validation.js'

/** The version of the policy JSON form this package reads and writes. */
export const POLICY_VERSION = 1

/**
 * The JSON form of a policy, as {@link Policy.toJSON} writes it and {@link Policy.fromJSON}
 * reads it: `{ "version": 1, "name": "…", "statements": [ { "sid"?, "effect", "actions",
 * "resources", "conditions"? } ] }`.
 */
export interface PolicyJSON {
  readonly version: typeof POLICY_VERSION
  readonly name: string
  readonly statements: readonly Statement[]
}

/** A request to decide: one concrete action on one container path, with its context. */
export interface EvaluationRequest {
  /** The action asked for: a concrete {@link Action}, never `'*'` or a `'prefix:*'` pattern. */
  readonly action: Action | string
  /** The container path; {@link Policy.evaluate} normalizes it with `normalizePath` itself. */
  readonly path: string
  /** What conditions test; absent: no principal, source, tags or size, and the current time. */
  readonly context?: RequestContext
}

/**
 * An access policy: a name and a list of statements, checked and compiled once, when made.
 *
 * Evaluation (AWS-style, deny wins): the statements that match a request are those that name
 * its action, have a resource matching its normalized path, and whose conditions all hold.
 * Any matching `Deny` denies (reporting the first one); otherwise any matching `Allow` allows
 * (reporting the first one); otherwise the request is denied implicitly. Statement order never
 * changes the outcome, and an empty policy denies everything.
 *
 * A policy is immutable and decisions are not cached: a container that replaces its policy
 * decides the next request with the new one.
 */
export class Policy {
  /** The policy's name (reported in decisions). */
  readonly name: string
  /** The statements, as frozen canonical copies. */
  readonly statements: readonly Statement[]
  readonly #compiled: readonly CompiledStatement[]

  /**
   * Checks and compiles a policy.
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for an empty name, a statement list that
   * is not an array, two statements with one sid, or any invalid statement (unknown field,
   * effect, action, resource, condition operator, key or value).
   */
  constructor(name: string, statements: readonly Statement[]) {
    if (typeof name !== 'string' || name === '') invalidArgument(`a policy name must be a non-empty string, not ${show(name)}`)
    if (!Array.isArray(statements)) invalidArgument(`a policy's statements must be an array, not ${show(statements)}`)
    const compiled = statements.map((s, i) => compileStatement(s, i))
    const sids = new Set<string>()
    for (const c of compiled) {
      const sid = c.statement.sid
      if (sid === undefined) continue
      if (sids.has(sid)) invalidArgument(`${describeStatement(c.index, sid)}: sid used by an earlier statement (sids are unique)`)
      sids.add(sid)
    }
    this.name = name
    this.#compiled = compiled
    this.statements = Object.freeze(compiled.map((c) => c.statement))
  }

  /**
   * Decides a request. The path is normalized first (`/public/../private/x` is `/private/x`),
   * with the normalizer storage uses, so a policy sees exactly the path storage would touch.
   * @throws CartridgeError `CARTRIDGE_INVALID_PATH` for a path storage would refuse (escaping the
   * root, control characters, lone surrogates…): there is nothing to decide about, and the
   * error matches the one the operation itself would give. `CARTRIDGE_INVALID_ARGUMENT` for an
   * unknown or pattern action (`'*'`, `'snapshot:*'`) or an invalid context.
   */
  evaluate(request: EvaluationRequest): Decision {
    const req = expectObject(request, ['action', 'path', 'context'], 'the request')
    const action = req.action
    if (!isAction(action)) invalidArgument(`cannot evaluate action ${show(action)}: a request names one concrete action`)
    const path = normalizePath(req.path as string)
    const context = resolveContext(req.context as RequestContext | undefined)
    let allow: CompiledStatement | undefined
    for (const s of this.#compiled) {
      if (allow !== undefined && !s.deny) continue // an Allow is already found; only a Deny can change the outcome
      if (!s.appliesTo(action) || !s.covers(path) || !s.holds(context)) continue
      if (s.deny) return this.#decide(action, path, s)
      allow = s
    }
    return this.#decide(action, path, allow)
  }

  #decide(action: ConcreteAction, path: string, s: CompiledStatement | undefined): Decision {
    const target = `${action} on ${path}`
    if (s === undefined) {
      return { allowed: false, effect: 'ImplicitDeny', action, path, reason: `no statement of policy ${JSON.stringify(this.name)} allows ${target}` }
    }
    const sid = s.statement.sid
    const statement = sid === undefined ? { index: s.index } : { index: s.index, sid }
    const by = `${describeStatement(s.index, sid)} of policy ${JSON.stringify(this.name)}`
    return s.deny
      ? { allowed: false, effect: 'Deny', statement, action, path, reason: `${by} denies ${target}` }
      : { allowed: true, effect: 'Allow', statement, action, path, reason: `${by} allows ${target}` }
  }

  /** The JSON form (a fresh, mutable copy): `{ version: 1, name, statements }`. */
  toJSON(): PolicyJSON {
    return { version: POLICY_VERSION, name: this.name, statements: structuredClone(this.statements as Statement[]) }
  }

  /**
   * Reads the JSON form: a parsed object, or its JSON text. Checks it exactly as the constructor
   * does, and also that `version` is 1 and that there are no fields besides `version`, `name`
   * and `statements`.
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for text that is not JSON, a missing or
   * other version, an unknown field, or anything the constructor refuses.
   */
  static fromJSON(json: unknown): Policy {
    let value = json
    if (typeof json === 'string') {
      try {
        value = JSON.parse(json)
      } catch (err) {
        invalidArgument(`policy JSON does not parse: ${(err as Error).message}`)
      }
    }
    const p = expectObject(value, ['version', 'name', 'statements'], 'a policy')
    if (p.version !== POLICY_VERSION) invalidArgument(`unsupported policy version ${show(p.version)} (this version reads ${POLICY_VERSION})`)
    return new Policy(p.name as string, p.statements as Statement[])
  }
}
