import { ErrorCodes } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { resolveContext } from './request-context.js'

describe('request contexts', () => {
  it('resolves time from the context, else from the clock', () => {
    expect(resolveContext({ time: new Date(5) }).time).toBe(5)
    expect(resolveContext({}, () => 7).time).toBe(7)
    expect(resolveContext(undefined, () => 9)).toEqual({ principal: undefined, source: undefined, tags: undefined, time: 9, size: undefined })
    expect(resolveContext({ principal: 'a', source: 'cli', tags: { t: 'v' }, size: 3 }, () => 1)).toEqual({ principal: 'a', source: 'cli', tags: { t: 'v' }, time: 1, size: 3 })
  })

  it('treats fields set to undefined as absent', () => {
    expect(resolveContext({ principal: undefined, size: undefined }, () => 1)).toEqual({ principal: undefined, source: undefined, tags: undefined, time: 1, size: undefined })
  })

  it('refuses unknown fields and wrong types', () => {
    const bad: unknown[] = [
      { user: 'a' }, { tag: { a: 'b' } }, { principal: 1 }, { source: null }, { tags: 'a' }, { tags: { a: 1 } }, { tags: [] },
      { time: 5 }, { time: new Date(Number.NaN) }, { time: '2026-01-01' }, { size: -1 }, { size: '5' }, { size: Number.NaN }, { size: Infinity },
      null, [], 'alice',
    ]
    for (const c of bad) expect(() => resolveContext(c as never), JSON.stringify(c)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }))
  })
})
