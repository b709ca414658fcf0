import { parseConditionDate } from './iso-date.js'
import type { ResolvedContext } from './request-context.js'
import { compileStringLike } from './string-like.js'
import { expectObject, invalidArgument, isPlainObject, show } from './validation.js'

/**
 * The condition operators. Each tests one kind of key:
 *
 * | Operator | Keys | True when the request's value… |
 * |---|---|---|
 * | `StringEquals` | `principal`, `source`, `tag:<name>` | equals one of the values |
 * | `StringNotEquals` | same | equals none of the values |
 * | `StringLike` | same | matches one of the patterns (`*` any run, `?` one character) |
 * | `StringNotLike` | same | matches none of the patterns |
 * | `DateLessThan` | `time` | is before one of the dates |
 * | `DateGreaterThan` | `time` | is after one of the dates |
 * | `NumericEquals` | `size` | equals one of the numbers |
 * | `NumericLessThan`, `NumericLessThanEquals` | `size` | is <, ≤ one of the numbers |
 * | `NumericGreaterThan`, `NumericGreaterThanEquals` | `size` | is >, ≥ one of the numbers |
 *
 * String comparisons are exact (case-sensitive, no Unicode normalization).
 */
export const ConditionOperator = {
  StringEquals: 'StringEquals',
  StringNotEquals: 'StringNotEquals',
  StringLike: 'StringLike',
  StringNotLike: 'StringNotLike',
  DateLessThan: 'DateLessThan',
  DateGreaterThan: 'DateGreaterThan',
  NumericEquals: 'NumericEquals',
  NumericLessThan: 'NumericLessThan',
  NumericLessThanEquals: 'NumericLessThanEquals',
  NumericGreaterThan: 'NumericGreaterThan',
  NumericGreaterThanEquals: 'NumericGreaterThanEquals',
} as const

/** One of the {@link ConditionOperator} names. */
export type ConditionOperator = (typeof ConditionOperator)[keyof typeof ConditionOperator]

/**
 * A condition key: `principal`, `source` and `tag:<name>` (strings), `time` (the evaluation
 * time), `size` (bytes of a write).
 */
export type ConditionKey = 'principal' | 'source' | 'time' | 'size' | `tag:${string}`

/** One value or a non-empty array of values, any of which may hold. */
export type OneOrMore<T> = T | readonly T[]

/** The keys a String operator tests, each with one value or several (any-of). */
export interface StringConditionBlock {
  readonly principal?: OneOrMore<string>
  readonly source?: OneOrMore<string>
  readonly [tag: `tag:${string}`]: OneOrMore<string>
}

/** A Date operator's one key: `time`, compared with ISO 8601 strings or ms since the epoch. */
export interface DateConditionBlock {
  readonly time?: OneOrMore<string | number>
}

/** A Numeric operator's one key: `size`, compared with finite numbers. */
export interface NumericConditionBlock {
  readonly size?: OneOrMore<number>
}

/**
 * The conditions of a statement: operator → key → value(s), e.g.
 * `{ StringEquals: { principal: 'alice' }, NumericLessThan: { size: 1048576 } }`.
 *
 * Semantics follow AWS IAM: every key of every operator must hold (AND); an array of values
 * holds when any value does (OR; for the `Not` operators, when the request's value is none of
 * them). **A key the request context lacks makes its condition false, for every operator,
 * including the `Not` ones** (AWS treats a missing key as matching `StringNotEquals`; here it
 * does not). So a `Deny` whose condition names a missing key does not apply: to refuse
 * requests without a principal, state what is allowed (`Allow` with `StringEquals` on
 * `principal`) rather than relying on a `Deny` with `StringNotEquals`.
 *
 * `time` is never missing: without `context.time` it is the clock at evaluation.
 *
 * Everything is checked when the policy is made: an unknown operator or key, a value of the
 * wrong type, an empty array, or an operator used on a key of the wrong kind (`DateLessThan`
 * on `size`) throws `CARTRIDGE_INVALID_ARGUMENT`; nothing unknown is ever evaluated as true.
 */
export interface Conditions {
  readonly StringEquals?: StringConditionBlock
  readonly StringNotEquals?: StringConditionBlock
  readonly StringLike?: StringConditionBlock
  readonly StringNotLike?: StringConditionBlock
  readonly DateLessThan?: DateConditionBlock
  readonly DateGreaterThan?: DateConditionBlock
  readonly NumericEquals?: NumericConditionBlock
  readonly NumericLessThan?: NumericConditionBlock
  readonly NumericLessThanEquals?: NumericConditionBlock
  readonly NumericGreaterThan?: NumericConditionBlock
  readonly NumericGreaterThanEquals?: NumericConditionBlock
}

/** Whether a statement's conditions hold for a request. */
export type ConditionTest = (context: ResolvedContext) => boolean

type Kind = 'string' | 'date' | 'numeric'
const OPERATORS: Record<ConditionOperator, Kind> = {
  StringEquals: 'string',
  StringNotEquals: 'string',
  StringLike: 'string',
  StringNotLike: 'string',
  DateLessThan: 'date',
  DateGreaterThan: 'date',
  NumericEquals: 'numeric',
  NumericLessThan: 'numeric',
  NumericLessThanEquals: 'numeric',
  NumericGreaterThan: 'numeric',
  NumericGreaterThanEquals: 'numeric',
}
const OPERATOR_NAMES = Object.keys(OPERATORS)

/** The kind of a key, or undefined for an unknown key. */
function kindOfKey(key: string): Kind | undefined {
  if (key === 'principal' || key === 'source') return 'string'
  if (key.startsWith('tag:')) return key.length > 4 ? 'string' : undefined
  if (key === 'time') return 'date'
  if (key === 'size') return 'numeric'
  return undefined
}

type Read<T> = (c: ResolvedContext) => T | undefined
function stringReader(key: string): Read<string> {
  if (key === 'principal') return (c) => c.principal
  if (key === 'source') return (c) => c.source
  const tag = key.slice(4)
  return (c) => (c.tags !== undefined && Object.hasOwn(c.tags, tag) ? c.tags[tag] : undefined)
}

/** The values of one key as a non-empty array, each checked by `valid`. */
function valuesOf<T>(raw: unknown, where: string, expected: string, valid: (v: unknown) => v is T): readonly T[] {
  const list = Array.isArray(raw) ? raw : [raw]
  if (list.length === 0) invalidArgument(`${where}: an empty array of values (it could never hold)`)
  for (const v of list) if (!valid(v)) invalidArgument(`${where}: expected ${expected}, got ${show(v)}`)
  return list as T[]
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isDate = (v: unknown): v is string | number => parseConditionDate(v) !== undefined

function compileOne(op: ConditionOperator, key: string, raw: unknown, where: string): ConditionTest {
  switch (op) {
    case 'StringEquals':
    case 'StringNotEquals': {
      const set = new Set(valuesOf(raw, where, 'a string', isString))
      const read = stringReader(key)
      const want = op === 'StringEquals'
      return (c) => {
        const v = read(c)
        return v !== undefined && set.has(v) === want
      }
    }
    case 'StringLike':
    case 'StringNotLike': {
      const matchers = valuesOf(raw, where, 'a string pattern', isString).map(compileStringLike)
      const read = stringReader(key)
      const want = op === 'StringLike'
      return (c) => {
        const v = read(c)
        return v !== undefined && matchers.some((m) => m(v)) === want
      }
    }
    case 'DateLessThan':
    case 'DateGreaterThan': {
      const ms = valuesOf(raw, where, 'an ISO 8601 date (with a zone when it has a time) or ms since the epoch', isDate).map((v) => parseConditionDate(v) as number)
      if (op === 'DateLessThan') {
        const latest = Math.max(...ms)
        return (c) => c.time < latest
      }
      const earliest = Math.min(...ms)
      return (c) => c.time > earliest
    }
    default: {
      const nums = valuesOf(raw, where, 'a finite number', isNumber)
      const max = Math.max(...nums)
      const min = Math.min(...nums)
      const set = new Set(nums)
      const holds: (n: number) => boolean =
        op === 'NumericEquals' ? (n) => set.has(n)
        : op === 'NumericLessThan' ? (n) => n < max
        : op === 'NumericLessThanEquals' ? (n) => n <= max
        : op === 'NumericGreaterThan' ? (n) => n > min
        : (n) => n >= min
      return (c) => c.size !== undefined && holds(c.size)
    }
  }
}

/**
 * Checks a statement's `conditions` and compiles them. Returns a frozen copy (arrays copied)
 * and the test, which is `undefined` when there is nothing to test (`{}`).
 * @param where names the statement, for messages.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` as described at {@link Conditions}.
 */
export function compileConditions(raw: unknown, where: string): { conditions: Conditions; test: ConditionTest | undefined } {
  const ops = expectObject(raw, OPERATOR_NAMES, `${where}: conditions`)
  const copy: Record<string, Record<string, unknown>> = {}
  const tests: ConditionTest[] = []
  for (const [op, block] of Object.entries(ops)) {
    const kind = OPERATORS[op as ConditionOperator]
    if (!isPlainObject(block)) invalidArgument(`${where}: conditions.${op} must be an object of key → value(s)`)
    const blockCopy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(block)) {
      const at = `${where}: conditions.${op}[${JSON.stringify(key)}]`
      const keyKind = kindOfKey(key)
      if (keyKind === undefined) invalidArgument(`${at}: unknown condition key (use principal, source, time, size or tag:<name>)`)
      if (keyKind !== kind) invalidArgument(`${at}: ${op} cannot test ${key} (a ${kind} operator on a ${keyKind} key)`)
      tests.push(compileOne(op as ConditionOperator, key, value, at))
      blockCopy[key] = Array.isArray(value) ? Object.freeze([...value]) : value
    }
    copy[op] = Object.freeze(blockCopy)
  }
  const test: ConditionTest | undefined =
    tests.length === 0 ? undefined : tests.length === 1 ? tests[0] : (c) => tests.every((t) => t(c))
  return { conditions: Object.freeze(copy) as Conditions, test }
}
