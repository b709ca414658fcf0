import { describe, expect, it } from 'vitest'
import { compileStringLike } from './string-like.js'

const like = (p: string, v: string) => compileStringLike(p)(v)

describe('StringLike patterns', () => {
  it('* matches any run, including none and including /', () => {
    expect(like('team-*', 'team-')).toBe(true)
    expect(like('team-*', 'team-ml/x')).toBe(true)
    expect(like('*-admin', 'db-admin')).toBe(true)
    expect(like('*-admin', 'db-admins')).toBe(false)
    expect(like('a*b*c', 'abc')).toBe(true)
    expect(like('a*b*c', 'aXbYc')).toBe(true)
    expect(like('a*b*c', 'aXbY')).toBe(false)
    expect(like('*', '')).toBe(true)
  })

  it('? matches exactly one character, a code point outside the BMP included', () => {
    expect(like('user?', 'user1')).toBe(true)
    expect(like('user?', 'user')).toBe(false)
    expect(like('user?', 'user12')).toBe(false)
    expect(like('?', '😀')).toBe(true)
    expect(like('??', '😀')).toBe(false)
  })

  it('is exact and case-sensitive without wildcards', () => {
    expect(like('alice', 'alice')).toBe(true)
    expect(like('alice', 'Alice')).toBe(false)
    expect(like('', '')).toBe(true)
    expect(like('', 'a')).toBe(false)
  })

  it('stays fast on patterns that make a backtracking regex explode', () => {
    const t0 = performance.now()
    expect(like('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false)
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})
