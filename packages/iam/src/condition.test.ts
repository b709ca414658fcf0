import { ErrorCodes } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { compileConditions } from './condition.js'
import { resolveContext, type RequestContext } from './request-context.js'

const T = Date.parse('2026-06-15T12:00:00Z')
/** Whether `conditions` hold for `context` (time fixed at T unless given). */
function holds(conditions: unknown, context: RequestContext = {}): boolean {
  const { test } = compileConditions(conditions, 'statement 0')
  return test === undefined ? true : test(resolveContext(context, () => T))
}
const invalid = (conditions: unknown) =>
  expect(() => compileConditions(conditions, 'statement 0')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }))

describe('condition operators: true, false, and a missing key (always false)', () => {
  const alice = { principal: 'alice', source: 'api', tags: { team: 'ml' } }

  it('StringEquals', () => {
    expect(holds({ StringEquals: { principal: 'alice' } }, alice)).toBe(true)
    expect(holds({ StringEquals: { principal: 'bob' } }, alice)).toBe(false)
    expect(holds({ StringEquals: { principal: 'Alice' } }, alice)).toBe(false)
    expect(holds({ StringEquals: { principal: 'alice' } }, {})).toBe(false)
    expect(holds({ StringEquals: { source: 'api' } }, alice)).toBe(true)
    expect(holds({ StringEquals: { source: 'cli' } }, alice)).toBe(false)
    expect(holds({ StringEquals: { source: 'api' } }, { principal: 'alice' })).toBe(false)
    expect(holds({ StringEquals: { 'tag:team': 'ml' } }, alice)).toBe(true)
    expect(holds({ StringEquals: { 'tag:team': 'web' } }, alice)).toBe(false)
    expect(holds({ StringEquals: { 'tag:project': 'ml' } }, alice)).toBe(false)
  })

  it('StringNotEquals (a missing key is false here, unlike AWS)', () => {
    expect(holds({ StringNotEquals: { principal: 'bob' } }, alice)).toBe(true)
    expect(holds({ StringNotEquals: { principal: 'alice' } }, alice)).toBe(false)
    expect(holds({ StringNotEquals: { principal: 'bob' } }, {})).toBe(false)
    expect(holds({ StringNotEquals: { principal: ['bob', 'carol'] } }, alice)).toBe(true)
    expect(holds({ StringNotEquals: { principal: ['bob', 'alice'] } }, alice)).toBe(false)
  })

  it('StringLike', () => {
    expect(holds({ StringLike: { principal: 'al*' } }, alice)).toBe(true)
    expect(holds({ StringLike: { principal: 'b?b' } }, alice)).toBe(false)
    expect(holds({ StringLike: { principal: '*' } }, {})).toBe(false)
    expect(holds({ StringLike: { 'tag:team': ['web*', 'm?'] } }, alice)).toBe(true)
  })

  it('StringNotLike', () => {
    expect(holds({ StringNotLike: { principal: 'b*' } }, alice)).toBe(true)
    expect(holds({ StringNotLike: { principal: 'a*' } }, alice)).toBe(false)
    expect(holds({ StringNotLike: { principal: 'b*' } }, {})).toBe(false)
    expect(holds({ StringNotLike: { principal: ['b*', '?lice'] } }, alice)).toBe(false)
  })

  it('DateLessThan / DateGreaterThan (ISO 8601 or ms; time defaults to the clock)', () => {
    expect(holds({ DateLessThan: { time: '2027-01-01' } })).toBe(true)
    expect(holds({ DateLessThan: { time: '2026-01-01T00:00:00Z' } })).toBe(false)
    expect(holds({ DateLessThan: { time: T } })).toBe(false) // strictly less
    expect(holds({ DateLessThan: { time: T + 1 } })).toBe(true)
    expect(holds({ DateGreaterThan: { time: '2026-06-15T11:59:59.999Z' } })).toBe(true)
    expect(holds({ DateGreaterThan: { time: '2026-06-15T14:00:00+02:00' } })).toBe(false) // = T
    expect(holds({ DateGreaterThan: { time: '2026-06-15T13:00:00+02:00' } })).toBe(true)
    expect(holds({ DateGreaterThan: { time: [T + 10, T - 10] } })).toBe(true)
    expect(holds({ DateLessThan: { time: [T - 10, T - 20] } })).toBe(false)
    // context.time wins over the clock
    expect(holds({ DateLessThan: { time: '2000-01-01' } }, { time: new Date('1999-12-31T23:59:59Z') })).toBe(true)
    // 'time' is never missing: with no context.time it is the real clock
    const { test } = compileConditions({ DateLessThan: { time: Date.now() + 60_000 }, DateGreaterThan: { time: Date.now() - 60_000 } }, 's')
    expect(test!(resolveContext(undefined))).toBe(true)
  })

  it('Numeric operators on size', () => {
    const c = { size: 100 }
    expect(holds({ NumericEquals: { size: 100 } }, c)).toBe(true)
    expect(holds({ NumericEquals: { size: 101 } }, c)).toBe(false)
    expect(holds({ NumericEquals: { size: [1, 100] } }, c)).toBe(true)
    expect(holds({ NumericLessThan: { size: 101 } }, c)).toBe(true)
    expect(holds({ NumericLessThan: { size: 100 } }, c)).toBe(false)
    expect(holds({ NumericLessThanEquals: { size: 100 } }, c)).toBe(true)
    expect(holds({ NumericLessThanEquals: { size: 99 } }, c)).toBe(false)
    expect(holds({ NumericGreaterThan: { size: 99 } }, c)).toBe(true)
    expect(holds({ NumericGreaterThan: { size: 100 } }, c)).toBe(false)
    expect(holds({ NumericGreaterThanEquals: { size: 100 } }, c)).toBe(true)
    expect(holds({ NumericGreaterThanEquals: { size: 101 } }, c)).toBe(false)
    expect(holds({ NumericEquals: { size: 0 } }, { size: 0 })).toBe(true)
    for (const op of ['NumericEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals']) {
      expect(holds({ [op]: { size: 1e12 } }, {}), op).toBe(false)
      expect(holds({ [op]: { size: -1e12 } }, {}), op).toBe(false)
    }
  })

  it('all operators and keys must hold (AND); values are any-of (OR)', () => {
    const both = { StringEquals: { principal: ['bob', 'alice'], 'tag:team': 'ml' }, NumericLessThan: { size: 10 } }
    expect(holds(both, { ...alice, size: 5 })).toBe(true)
    expect(holds(both, { ...alice, size: 50 })).toBe(false)
    expect(holds(both, { ...alice, tags: { team: 'web' }, size: 5 })).toBe(false)
    expect(holds(both, { principal: 'alice', size: 5 })).toBe(false)
    expect(holds({}, {})).toBe(true)
    expect(holds({ StringEquals: {} }, {})).toBe(true)
  })

  it('tags are own properties only', () => {
    expect(holds({ StringEquals: { 'tag:constructor': 'x' } }, { tags: {} })).toBe(false)
    expect(holds({ StringLike: { 'tag:toString': '*' } }, { tags: {} })).toBe(false)
    expect(holds({ StringLike: { 'tag:__proto__': '*' } }, { tags: {} })).toBe(false)
  })
})

describe('invalid conditions are refused when the policy is made', () => {
  it('unknown operators, including wrong case and AWS ones this package does not have', () => {
    for (const op of ['stringEquals', 'StringEqualsIgnoreCase', 'StringEqualsIfExists', 'Bool', 'IpAddress', 'ForAnyValue:StringEquals', 'NumericNotEquals', 'DateEquals']) invalid({ [op]: { principal: 'a' } })
  })

  it('unknown keys', () => {
    for (const key of ['Principal', 'user', 'tag:', 'tags', 'aws:username', 'path', 'action']) invalid({ StringEquals: { [key]: 'a' } })
  })

  it('operator/key kind mismatches', () => {
    invalid({ DateLessThan: { size: 1 } })
    invalid({ NumericLessThan: { time: 1 } })
    invalid({ StringEquals: { time: '2026-01-01' } })
    invalid({ StringEquals: { size: '1' } })
    invalid({ NumericEquals: { principal: 1 } })
    invalid({ DateGreaterThan: { 'tag:x': '2026-01-01' } })
  })

  it('values of the wrong type, empty arrays, nested arrays', () => {
    invalid({ StringEquals: { principal: 1 } })
    invalid({ StringEquals: { principal: null } })
    invalid({ StringEquals: { principal: [] } })
    invalid({ StringEquals: { principal: ['a', 1] } })
    invalid({ StringEquals: { principal: [['a']] } })
    invalid({ StringEquals: { principal: { a: 1 } } })
    invalid({ NumericLessThan: { size: '10' } })
    invalid({ NumericLessThan: { size: Number.NaN } })
    invalid({ NumericLessThan: { size: Number.POSITIVE_INFINITY } })
    invalid({ DateLessThan: { time: true } })
    invalid({ DateLessThan: { time: Number.NaN } })
  })

  it('dates that are not strict ISO 8601 with a zone', () => {
    for (const d of ['2026-02-30', '2026-13-01', '2025-02-29', '2026-1-01', '2026-01-01T12:00', '2026-01-01T12:00:00', '2026-01-01 12:00Z', '2026-01-01T24:00Z', '2026-01-01T12:60Z', 'tomorrow', 'Mon, 01 Jan 2026 00:00:00 GMT', '']) {
      expect(() => compileConditions({ DateLessThan: { time: d } }, 's'), d).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }))
    }
    for (const d of ['2024-02-29', '2026-01-01T12:00Z', '2026-01-01T12:00:59.123456+05:30', '2026-01-01T00:00:00-08:00']) {
      expect(() => compileConditions({ DateLessThan: { time: d } }, 's'), d).not.toThrow()
    }
  })

  it('blocks and the conditions object must be plain objects', () => {
    invalid(null)
    invalid([])
    invalid('StringEquals')
    invalid({ StringEquals: null })
    invalid({ StringEquals: [['principal', 'a']] })
    invalid({ StringEquals: 'alice' })
  })

  it('returns a frozen copy that later changes to the input do not reach', () => {
    const input = { StringEquals: { principal: ['alice'] } }
    const { conditions, test } = compileConditions(input, 's')
    input.StringEquals.principal.push('bob')
    expect(conditions).toEqual({ StringEquals: { principal: ['alice'] } })
    expect(Object.isFrozen(conditions.StringEquals!.principal)).toBe(true)
    expect(test!(resolveContext({ principal: 'bob' }))).toBe(false)
  })
})
