import { normalizePath } from '@cartridge/core'
import { ACTIONS, isAction, type Action, type ConcreteAction } from './action.js'
import type { Decision } from './decision.js'
import { resolveContext, type RequestContext, type ResolvedContext } from './request-context.js'
import { firstSegment } from './resource-pattern.js'
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

/** Options of a {@link Policy}. */
export interface PolicyOptions {
  /** How many (action, path) requests the policy remembers the matching statements of (default {@link DECISION_CACHE_SIZE}; 0: none). */
  readonly cacheSize?: number
}

/** How many (action, path) pairs a policy remembers the matching statements of. */
export const DECISION_CACHE_SIZE = 16384

/** What a policy remembers of one (action, path): everything but the conditions' outcome. */
interface CachedRequest {
  readonly action: ConcreteAction
  /** The path, normalized. */
  readonly path: string
  /** The statements naming the action whose resources match the path, in policy order. */
  readonly candidates: readonly CompiledStatement[]
  /** The (frozen, reused) decisions made so far: index 0 by no statement, i + 1 by candidate i. */
  decisions: Decision[] | undefined
  /** When no candidate has conditions, the deciding candidate whatever the context (-1: none); else {@link NOT_FIXED}. */
  readonly fixed: number
}

/** {@link CachedRequest.fixed} of a request whose outcome depends on the context. */
const NOT_FIXED = -2

/** The statements naming one action that can match paths of one first segment (or of any other). */
interface Bucket {
  readonly statements: readonly CompiledStatement[]
  /** When each of them covers every path of the segment (`/**`, `/<segment>/**`): the candidates of any such path. */
  readonly whole: Pick<CachedRequest, 'candidates' | 'fixed'> | undefined
}

/** The bucket of `statements` for paths whose first segment is `segment` (undefined: any other). */
function bucket(statements: readonly CompiledStatement[], segment: string | undefined): Bucket {
  const wholly = (s: CompiledStatement) => s.statement.resources.some((r) => r === '/**' || (segment !== undefined && segment !== '' && r === `/${segment}/**`))
  if (!statements.every(wholly)) return { statements, whole: undefined }
  return { statements, whole: { candidates: statements, fixed: fixedChoice(statements) } }
}

/**
 * The candidate that decides whatever the context when none has conditions (the first Deny, else
 * the first Allow, -1 for none); {@link NOT_FIXED} when conditions make it depend on the context.
 */
function fixedChoice(candidates: readonly CompiledStatement[]): number {
  if (candidates.some((s) => s.conditional)) return NOT_FIXED
  const firstDeny = candidates.findIndex((s) => s.deny)
  return firstDeny >= 0 ? firstDeny : candidates.length > 0 ? 0 : -1
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
 * A policy is immutable, so what it remembers can never be stale: for each (action, path) it
 * has been asked about (up to {@link DECISION_CACHE_SIZE} of them; then it starts over) it keeps
 * the normalized path and the statements whose action and resources match, and evaluates only
 * their conditions on the next such request. A container that replaces its policy decides the next request with the
 * new one (and the new one's cache).
 */
export class Policy {
  /** The policy's name (reported in decisions). */
  readonly name: string
  /** The statements, as frozen canonical copies. */
  readonly statements: readonly Statement[]
  /**
   * Per concrete action, the statements that name it, in policy order: those that can match a
   * path of a given first segment (for the first segments resources spell out), and those that
   * can match any path (for every other first segment).
   */
  readonly #byAction = new Map<string, { readonly bySegment: ReadonlyMap<string, Bucket>; readonly any: Bucket }>()
  /** Per action, per path as asked: what does not depend on the context. */
  readonly #cache = new Map<string, Map<string, CachedRequest>>()
  /** How many requests {@link Policy.#cache} holds. */
  #cached = 0
  /** Most requests {@link Policy.#cache} holds (0: it holds none). */
  readonly #cacheSize: number

  /**
   * Checks and compiles a policy. `options.cacheSize`: how many (action, path) requests it
   * remembers the matching statements of (default {@link DECISION_CACHE_SIZE}; 0: none, every
   * request is matched afresh).
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for an empty name, a statement list that
   * is not an array, two statements with one sid, or any invalid statement (unknown field,
   * effect, action, resource, condition operator, key or value), or a cache size that is not a
   * non-negative integer.
   */
  constructor(name: string, statements: readonly Statement[], options: PolicyOptions = {}) {
    const cacheSize = options.cacheSize ?? DECISION_CACHE_SIZE
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) invalidArgument(`cacheSize must be a non-negative integer, not ${show(cacheSize)}`)
    this.#cacheSize = cacheSize
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
    for (const a of ACTIONS) {
      const named = compiled.filter((c) => c.appliesTo(a))
      const bySegment = new Map<string, Bucket>()
      for (const c of named) for (const seg of c.firstSegments ?? []) bySegment.set(seg, bucket(named.filter((s) => s.firstSegments === undefined || s.firstSegments.has(seg)), seg))
      this.#byAction.set(a, { bySegment, any: bucket(named.filter((c) => c.firstSegments === undefined), undefined) })
    }
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
    return this.evaluateResolved(req.action as string, req.path as string, resolveContext(req.context as RequestContext | undefined))
  }

  /**
   * {@link Policy.evaluate} for a context already checked and resolved with `resolveContext`
   * (its `time` is the request's time): what a container calls on every operation, without
   * checking the context again.
   * @throws CartridgeError as {@link Policy.evaluate}.
   */
  evaluateResolved(action: string, path: string, context: ResolvedContext): Decision {
    const r = this.#lookup(action, path)
    return this.#decision(r, Policy.#choose(r, context))
  }

  /**
   * Whether {@link Policy.evaluateResolved} would allow the request, without making its
   * {@link Decision}: the check a container makes on every operation.
   * @throws CartridgeError as {@link Policy.evaluate}.
   */
  allowsResolved(action: string, path: string, context: ResolvedContext): boolean {
    let r: Pick<CachedRequest, 'candidates' | 'fixed'> | undefined = this.#cache.get(action)?.get(path)
    if (r === undefined) {
      // Where every statement that could match covers the whole first segment, the path needs no
      // matching and nothing to remember.
      const named = this.#byAction.get(action)
      r = (named === undefined ? undefined : (named.bySegment.get(firstSegment(normalizePath(path))) ?? named.any).whole) ?? this.#lookup(action, path)
    }
    const i = Policy.#choose(r, context)
    return i >= 0 && !r.candidates[i].deny
  }

  /** What the policy remembers of `action` on `path`, matched now if it remembers nothing. */
  #lookup(action: string, path: string): CachedRequest {
    let paths = this.#cache.get(action)
    if (paths === undefined) this.#cache.set(action, (paths = new Map()))
    let r = paths.get(path)
    if (r === undefined) {
      r = this.#match(action, path)
      if (this.#cacheSize === 0) return r
      // Bounded: when full, forget everything and start over (cheap, and no bookkeeping on hits).
      if (++this.#cached > this.#cacheSize) {
        for (const m of this.#cache.values()) m.clear()
        this.#cached = 1
      }
      paths.set(path, r)
    }
    return r
  }

  /** The candidate of `r` that decides under `context` (the first Deny that holds, else the first Allow), -1 for none. */
  static #choose(r: Pick<CachedRequest, 'candidates' | 'fixed'>, context: ResolvedContext): number {
    if (r.fixed !== NOT_FIXED) return r.fixed
    const candidates = r.candidates
    let allow = -1
    for (let i = 0; i < candidates.length; i++) {
      const s = candidates[i]
      if (allow >= 0 && !s.deny) continue // an Allow is already found; only a Deny can change the outcome
      if (!s.holds(context)) continue
      if (s.deny) return i
      allow = i
    }
    return allow
  }

  /** The statements that could decide `action` on `path`: those naming the action whose resources match. */
  #match(action: string, asked: string): CachedRequest {
    if (!isAction(action)) invalidArgument(`cannot evaluate action ${show(action)}: a request names one concrete action`)
    const path = normalizePath(asked)
    const named = this.#byAction.get(action)!
    const bucket = named.bySegment.get(firstSegment(path)) ?? named.any
    if (bucket.whole !== undefined) return { action, path, candidates: bucket.whole.candidates, decisions: undefined, fixed: bucket.whole.fixed }
    const candidates = bucket.statements.filter((s) => s.covers(path))
    return { action, path, candidates, decisions: undefined, fixed: fixedChoice(candidates) }
  }

  /** The decision made by candidate `i` of `r` (-1: by none), made once and reused. */
  #decision(r: CachedRequest, i: number): Decision {
    return ((r.decisions ??= [])[i + 1] ??= this.#decide(r.action, r.path, i < 0 ? undefined : r.candidates[i]))
  }

  #decide(action: ConcreteAction, path: string, s: CompiledStatement | undefined): Decision {
    const target = `${action} on ${path}`
    if (s === undefined) {
      return Object.freeze({ allowed: false, effect: 'ImplicitDeny', action, path, reason: `no statement of policy ${JSON.stringify(this.name)} allows ${target}` })
    }
    const sid = s.statement.sid
    const statement = Object.freeze(sid === undefined ? { index: s.index } : { index: s.index, sid })
    const by = `${describeStatement(s.index, sid)} of policy ${JSON.stringify(this.name)}`
    return Object.freeze(s.deny
      ? { allowed: false, effect: 'Deny', statement, action, path, reason: `${by} denies ${target}` }
      : { allowed: true, effect: 'Allow', statement, action, path, reason: `${by} allows ${target}` })
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
  static fromJSON(json: unknown, options: PolicyOptions = {}): Policy {
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
    return new Policy(p.name as string, p.statements as Statement[], options)
  }
}
