import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DECISION_CACHE_SIZE, Policy, resolveContext, type Statement } from './index.js'

// A tiny reference evaluator, written without micromatch or this package's matchers.

/** `*` any run, `?` one character, `[ab]` one of, `{x,y}` (whole segment) either; else literal. */
function segmentMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('{')) return pattern.slice(1, -1).split(',').some((alt) => segmentMatches(alt, name))
  const p = [...pattern]
  const s = [...name]
  const go = (i: number, j: number): boolean => {
    if (i === p.length) return j === s.length
    if (p[i] === '*') return go(i + 1, j) || (j < s.length && go(i, j + 1))
    if (j === s.length) return false
    if (p[i] === '?') return go(i + 1, j + 1)
    if (p[i] === '[') {
      const end = p.indexOf(']', i)
      return p.slice(i + 1, end).includes(s[j]) && go(end + 1, j + 1)
    }
    return p[i] === s[j] && go(i + 1, j + 1)
  }
  return go(0, 0)
}

/** `**` any number of whole segments, other segments one each. */
function globMatches(pattern: string, path: string): boolean {
  const p = pattern === '/' ? [] : pattern.slice(1).split('/')
  const s = path === '/' ? [] : path.slice(1).split('/')
  const go = (i: number, j: number): boolean => {
    if (i === p.length) return j === s.length
    if (p[i] === '**') return go(i + 1, j) || (j < s.length && go(i, j + 1))
    return j < s.length && segmentMatches(p[i], s[j]) && go(i + 1, j + 1)
  }
  return pattern === path || go(0, 0)
}

const actionMatches = (pattern: string, action: string) =>
  pattern === '*' || pattern === action || (pattern.endsWith(':*') && action.startsWith(pattern.slice(0, -1)))

function reference(statements: Statement[], action: string, path: string, principal: string | undefined) {
  const applies = (s: Statement) =>
    s.actions.some((a) => actionMatches(a, action)) &&
    s.resources.some((r) => globMatches(r, path)) &&
    (s.conditions?.StringEquals?.principal === undefined || s.conditions.StringEquals.principal === principal)
  const deny = statements.findIndex((s) => s.effect === 'Deny' && applies(s))
  if (deny >= 0) return { allowed: false, effect: 'Deny', index: deny }
  const allow = statements.findIndex((s) => s.effect === 'Allow' && applies(s))
  if (allow >= 0) return { allowed: true, effect: 'Allow', index: allow }
  return { allowed: false, effect: 'ImplicitDeny', index: undefined }
}

const NAMES = ['a', 'b', 'ab', '.c', 'é']
const name = fc.constantFrom(...NAMES)
const segmentPattern = fc.constantFrom(...NAMES, '*', '?', 'a*', '*b', '?b', '.*', '[ab]', '{a,.c}', '**', '**')
const resource = fc.array(segmentPattern, { maxLength: 4 }).map((segs) => '/' + segs.join('/'))
const action = fc.constantFrom('read', 'write', 'list', 'snapshot:read', 'snapshot:create')
const actionPattern = fc.constantFrom('read', 'write', 'list', 'snapshot:read', 'snapshot:*', '*')
const principal = fc.option(fc.constantFrom('alice', 'bob'), { nil: undefined })
const statement: fc.Arbitrary<Statement> = fc.record({
  effect: fc.constantFrom('Allow' as const, 'Deny' as const),
  actions: fc.uniqueArray(actionPattern, { minLength: 1, maxLength: 3 }),
  resources: fc.array(resource, { minLength: 1, maxLength: 3 }),
  conditions: fc.option(principal.filter((p) => p !== undefined).map((p) => ({ StringEquals: { principal: p as string } })), { nil: undefined }),
}).map(({ conditions, ...rest }) => (conditions === undefined ? rest : { ...rest, conditions }))
const segments = fc.array(name, { maxLength: 4 })
/** A path spelled with redundant `.`, `x/..` and `//` parts that normalize away. */
const spelled = (segs: string[], noise: number[]) =>
  '/' + segs.map((s, i) => ['', './', 'zz/../', '/'][noise[i] ?? 0] + s).join('/')

describe('Policy.evaluate agrees with a reference evaluator (property)', () => {
  it('for random statements, actions, paths and principals', () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 6 }), action, segments, fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }), principal, (statements, act, segs, noise, who) => {
        const policy = new Policy('random', statements)
        const path = '/' + segs.join('/')
        const got = policy.evaluate({ action: act, path: spelled(segs, noise), context: who === undefined ? {} : { principal: who } })
        const want = reference(statements, act, path, who)
        expect({ allowed: got.allowed, effect: got.effect, index: got.statement?.index, path: got.path }).toEqual({ ...want, path })
        expect(policy.allowsResolved(act, spelled(segs, noise), resolveContext(who === undefined ? {} : { principal: who }))).toBe(want.allowed)
      }),
      { numRuns: 3000 },
    )
  })

  it('the outcome does not depend on the order of the statements', () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 6 }), fc.infiniteStream(fc.nat()), action, segments, (statements, seeds, act, segs) => {
        const shuffled = [...statements]
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = seeds.next().value % (i + 1)
          ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
        }
        const path = '/' + segs.join('/')
        const a = new Policy('a', statements).evaluate({ action: act, path })
        const b = new Policy('b', shuffled).evaluate({ action: act, path })
        expect([b.allowed, b.effect]).toEqual([a.allowed, a.effect])
      }),
      { numRuns: 1000 },
    )
  })

  it('one policy asked many requests in a row (its remembered matches reused across contexts) decides each as the reference does', () => {
    const request = fc.record({ act: action, segs: segments, noise: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }), who: principal })
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 6 }), fc.array(request, { minLength: 1, maxLength: 40 }), fc.constantFrom(0, 3, undefined), (statements, requests, cacheSize) => {
        const policy = new Policy('reused', statements, cacheSize === undefined ? {} : { cacheSize })
        for (const { act, segs, noise, who } of [...requests, ...requests.reverse()]) {
          const path = '/' + segs.join('/')
          const got = policy.evaluate({ action: act, path: spelled(segs, noise), context: who === undefined ? {} : { principal: who } })
          expect({ allowed: got.allowed, effect: got.effect, index: got.statement?.index, path: got.path }).toEqual({ ...reference(statements, act, path, who), path })
          expect(policy.allowsResolved(act, spelled(segs, noise), resolveContext(who === undefined ? {} : { principal: who }))).toBe(got.allowed)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('more distinct requests than a policy remembers: every decision still matches a fresh policy', () => {
    const statements: Statement[] = [
      { effect: 'Allow', actions: ['read'], resources: ['/t/**'] },
      { effect: 'Deny', actions: ['read'], resources: ['/t/*/x*'] },
      { effect: 'Allow', actions: ['*'], resources: ['/**'], conditions: { StringEquals: { principal: 'admin' } } },
    ]
    const policy = new Policy('busy', statements)
    const paths = Array.from({ length: 3 * DECISION_CACHE_SIZE }, (_, i) => `/t/d${i % 97}/${i % 3 ? 'x' : 'y'}${i}`)
    for (const who of ['alice', 'admin', 'alice']) {
      for (const path of paths) {
        const got = policy.evaluate({ action: 'read', path, context: { principal: who } })
        expect([got.allowed, got.statement?.index]).toEqual([reference(statements, 'read', path, who).allowed, reference(statements, 'read', path, who).index])
      }
    }
  })
})
