import { ErrorCodes } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { ACTIONS, Action, Effect, Policy, type Statement } from './index.js'

const INVALID_ARGUMENT = expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT })
const INVALID_PATH = expect.objectContaining({ code: ErrorCodes.INVALID_PATH })
const read = (policy: Policy, path: string) => policy.evaluate({ action: Action.Read, path })

describe('the issue cases', () => {
  const policy = new Policy('public-not-private', [
    { sid: 'public', effect: Effect.Allow, actions: [Action.Read], resources: ['/public/**'] },
    { sid: 'private', effect: Effect.Deny, actions: [Action.Read], resources: ['/private/**'] },
  ])

  it('denies /private/secret.txt however the path is spelled, deciding on the normalized path', () => {
    for (const path of ['/private/secret.txt', '/public/../private/secret.txt', '/public/./../private/secret.txt', '//private//secret.txt', 'private/secret.txt']) {
      expect(read(policy, path), path).toEqual({
        allowed: false,
        effect: 'Deny',
        statement: { index: 1, sid: 'private' },
        action: 'read',
        path: '/private/secret.txt',
        reason: 'statement 1 ("private") of policy "public-not-private" denies read on /private/secret.txt',
      })
    }
  })

  it('throws CARTRIDGE_INVALID_PATH for a path that escapes the root, as storage would', () => {
    expect(() => read(policy, '/public/../../private/secret.txt')).toThrow(INVALID_PATH)
    expect(() => read(policy, '/..')).toThrow(INVALID_PATH)
    expect(() => read(policy, '/public/a\u0000b')).toThrow(INVALID_PATH)
    expect(() => read(policy, '/public/\u202Eexe.txt')).toThrow(INVALID_PATH)
    expect(() => read(policy, '/public/\uD800')).toThrow(INVALID_PATH)
    expect(() => read(policy, '')).toThrow(INVALID_PATH)
  })

  it('allows what the Allow covers and nothing else', () => {
    expect(read(policy, '/public/a/b.txt')).toMatchObject({ allowed: true, effect: 'Allow', statement: { index: 0, sid: 'public' } })
    expect(read(policy, '/private/../public/x')).toMatchObject({ allowed: true, path: '/public/x' })
    expect(read(policy, '/other.txt')).toEqual({
      allowed: false, effect: 'ImplicitDeny', action: 'read', path: '/other.txt',
      reason: 'no statement of policy "public-not-private" allows read on /other.txt',
    })
    expect(policy.evaluate({ action: Action.Write, path: '/public/a' })).toMatchObject({ allowed: false, effect: 'ImplicitDeny' })
  })

  it("'/data/*.txt' matches /data/file.txt only, not a subdirectory or another extension", () => {
    const p = new Policy('txt', [{ effect: Effect.Allow, actions: [Action.Read], resources: ['/data/*.txt'] }])
    expect(read(p, '/data/file.txt').allowed).toBe(true)
    expect(read(p, '/data/subdir/file.txt').allowed).toBe(false)
    expect(read(p, '/data/file.json').allowed).toBe(false)
  })

  it('a Deny between two Allows wins: /data/restricted/public/file.txt is denied', () => {
    const p = new Policy('nested', [
      { effect: Effect.Allow, actions: [Action.Read], resources: ['/data/**'] },
      { effect: Effect.Deny, actions: [Action.Read], resources: ['/data/restricted/**'] },
      { effect: Effect.Allow, actions: [Action.Read], resources: ['/data/restricted/public/**'] },
    ])
    expect(read(p, '/data/restricted/public/file.txt')).toMatchObject({ allowed: false, effect: 'Deny', statement: { index: 1 } })
    expect(read(p, '/data/restricted/public/file.txt').statement).not.toHaveProperty('sid')
    expect(read(p, '/data/restricted')).toMatchObject({ allowed: false, effect: 'Deny' })
    expect(read(p, '/data/open/file.txt')).toMatchObject({ allowed: true, statement: { index: 0 } })
  })
})

describe('evaluation order', () => {
  const allowAll: Statement = { sid: 'all', effect: Effect.Allow, actions: ['*'], resources: ['/**'] }
  const denySecret: Statement = { sid: 'secret', effect: Effect.Deny, actions: [Action.Read], resources: ['/secret/**'] }
  const allowSecret: Statement = { sid: 'secret-ok', effect: Effect.Allow, actions: [Action.Read], resources: ['/secret/**'] }

  it('deny wins whatever the order of the statements', () => {
    const orders = [[allowAll, denySecret, allowSecret], [denySecret, allowAll, allowSecret], [allowSecret, allowAll, denySecret], [allowSecret, denySecret, allowAll]]
    for (const statements of orders) {
      const p = new Policy('order', statements)
      expect(read(p, '/secret/x')).toMatchObject({ allowed: false, effect: 'Deny', statement: { sid: 'secret' } })
      expect(read(p, '/open/x')).toMatchObject({ allowed: true, statement: { sid: 'all' } })
    }
  })

  it('reports the first matching Deny, else the first matching Allow', () => {
    const p = new Policy('first', [
      { sid: 'a1', effect: Effect.Allow, actions: ['*'], resources: ['/**'] },
      { sid: 'a2', effect: Effect.Allow, actions: ['read'], resources: ['/x'] },
      { sid: 'd1', effect: Effect.Deny, actions: ['write'], resources: ['/x'] },
      { sid: 'd2', effect: Effect.Deny, actions: ['*'], resources: ['/x'] },
    ])
    expect(read(p, '/x').statement).toEqual({ index: 3, sid: 'd2' })
    expect(p.evaluate({ action: 'write', path: '/x' }).statement).toEqual({ index: 2, sid: 'd1' })
    expect(read(p, '/y').statement).toEqual({ index: 0, sid: 'a1' })
  })

  it('an empty policy denies every action on every path', () => {
    const p = new Policy('empty', [])
    for (const action of ACTIONS) for (const path of ['/', '/a', '/a/b']) expect(p.evaluate({ action, path })).toMatchObject({ allowed: false, effect: 'ImplicitDeny' })
  })

  it('matches actions exactly, by * and by prefix:*', () => {
    const p = new Policy('actions', [
      { effect: Effect.Allow, actions: ['snapshot:*'], resources: ['/**'] },
      { effect: Effect.Allow, actions: [Action.Metadata], resources: ['/**'] },
    ])
    for (const a of ['snapshot:create', 'snapshot:restore', 'snapshot:delete', 'snapshot:read', 'metadata']) expect(p.evaluate({ action: a, path: '/' }).allowed, a).toBe(true)
    for (const a of ['read', 'write', 'delete', 'list', 'sqlite:read', 'policy:admin', 'vacuum']) expect(p.evaluate({ action: a, path: '/' }).allowed, a).toBe(false)
  })
})

describe('paths', () => {
  const p = new Policy('paths', [{ effect: Effect.Allow, actions: [Action.Read], resources: ['/public/**', '/data/a*b.txt', '/data/[x].txt', '/lit/q\\?.txt', '/café/**'] }])

  it('is case-sensitive', () => {
    expect(read(p, '/Public/x').allowed).toBe(false)
    expect(read(p, '/PUBLIC/x').allowed).toBe(false)
    expect(read(p, '/public/X').allowed).toBe(true)
  })

  it("'/public/**' covers /public itself and everything under it, not /publicity", () => {
    expect(read(p, '/public').allowed).toBe(true)
    expect(read(p, '/public/a/b/c/d.txt').allowed).toBe(true)
    expect(read(p, '/publicity').allowed).toBe(false)
    expect(read(p, '/').allowed).toBe(false)
  })

  it('dotfiles are matched like any other name', () => {
    expect(read(p, '/public/.env').allowed).toBe(true)
    expect(read(p, '/public/.git/config').allowed).toBe(true)
    const deny = new Policy('no-dot', [
      { effect: Effect.Allow, actions: [Action.Read], resources: ['/**'] },
      { effect: Effect.Deny, actions: [Action.Read], resources: ['/**/.*', '/**/.git/**'] },
    ])
    expect(read(deny, '/.env').allowed).toBe(false)
    expect(read(deny, '/a/.ssh').allowed).toBe(false)
    expect(read(deny, '/.git/HEAD').allowed).toBe(false)
    expect(read(deny, '/repo/.git/objects/ab').allowed).toBe(false)
    expect(read(deny, '/repo/git/x').allowed).toBe(true)
  })

  it('file names holding glob metacharacters: literal equality, or escaping', () => {
    expect(read(p, '/data/a*b.txt').allowed).toBe(true) // equal to the resource
    expect(read(p, '/data/aXb.txt').allowed).toBe(true) // and the resource is also a glob
    expect(read(p, '/data/[x].txt').allowed).toBe(true)
    expect(read(p, '/data/x.txt').allowed).toBe(true)
    expect(read(p, '/lit/q?.txt').allowed).toBe(true)
    expect(read(p, '/lit/qX.txt').allowed).toBe(false) // escaped: only the literal name
    const only = new Policy('only', [{ effect: Effect.Allow, actions: [Action.Read], resources: ['/data/a\\*b.txt', '/data/\\[x\\].txt'] }])
    expect(['/data/a*b.txt', '/data/aXb.txt', '/data/[x].txt', '/data/x.txt'].filter((f) => read(only, f).allowed)).toEqual(['/data/a*b.txt', '/data/[x].txt'])
  })

  it('NFC and NFD spellings of a name are the same path', () => {
    const nfc = '/café/menu.txt'.normalize('NFC')
    const nfd = '/café/menu.txt'.normalize('NFD')
    expect(nfc).not.toBe(nfd)
    expect(read(p, nfc)).toEqual(read(p, nfd))
    expect(read(p, nfd)).toMatchObject({ allowed: true, path: nfc })
    const deny = new Policy('deny-cafe', [
      { effect: Effect.Allow, actions: [Action.Read], resources: ['/**'] },
      { effect: Effect.Deny, actions: [Action.Read], resources: ['/café/**'.normalize('NFC')] },
    ])
    expect(read(deny, nfd).allowed).toBe(false)
    // a resource must itself be NFC, so it can never miss the normalized path
    expect(() => new Policy('nfd', [{ effect: Effect.Allow, actions: ['read'], resources: ['/café/**'.normalize('NFD')] }])).toThrow(INVALID_ARGUMENT)
  })
})

describe('conditions in a policy', () => {
  const p = new Policy('conditions', [
    { sid: 'team', effect: Effect.Allow, actions: [Action.Read, Action.Write], resources: ['/**'], conditions: { StringEquals: { 'tag:team': 'ml' } } },
    { sid: 'big', effect: Effect.Deny, actions: [Action.Write], resources: ['/**'], conditions: { NumericGreaterThan: { size: 1024 } } },
    { sid: 'not-bob', effect: Effect.Deny, actions: ['*'], resources: ['/**'], conditions: { StringNotEquals: { principal: 'bob' } } },
  ])
  const ml = { principal: 'bob', tags: { team: 'ml' } }

  it('applies a statement only when its conditions hold', () => {
    expect(p.evaluate({ action: 'read', path: '/x', context: ml })).toMatchObject({ allowed: true, statement: { sid: 'team' } })
    expect(p.evaluate({ action: 'write', path: '/x', context: { ...ml, size: 10 } })).toMatchObject({ allowed: true })
    expect(p.evaluate({ action: 'write', path: '/x', context: { ...ml, size: 4096 } })).toMatchObject({ allowed: false, statement: { sid: 'big' } })
    expect(p.evaluate({ action: 'read', path: '/x', context: { ...ml, principal: 'eve' } })).toMatchObject({ allowed: false, statement: { sid: 'not-bob' } })
    expect(p.evaluate({ action: 'read', path: '/x', context: { tags: { team: 'web' } } })).toMatchObject({ allowed: false, effect: 'ImplicitDeny' })
  })

  it('a Deny whose condition key is missing from the context does not apply (documented)', () => {
    // No size: the size Deny does not apply. No principal: the StringNotEquals Deny does not apply either.
    expect(p.evaluate({ action: 'write', path: '/x', context: { tags: { team: 'ml' } } })).toMatchObject({ allowed: true, statement: { sid: 'team' } })
  })
})

describe('invalid policies are refused with CARTRIDGE_INVALID_ARGUMENT', () => {
  const ok: Statement = { effect: Effect.Allow, actions: ['read'], resources: ['/**'] }
  const bad = (statement: unknown) => expect(() => new Policy('bad', [statement as Statement]), JSON.stringify(statement)).toThrow(INVALID_ARGUMENT)

  it('bad names, statement lists and duplicate sids', () => {
    expect(() => new Policy('', [ok])).toThrow(INVALID_ARGUMENT)
    expect(() => new Policy(undefined as unknown as string, [ok])).toThrow(INVALID_ARGUMENT)
    expect(() => new Policy('x', ok as unknown as Statement[])).toThrow(INVALID_ARGUMENT)
    expect(() => new Policy('x', [{ ...ok, sid: 'a' }, { ...ok, sid: 'a' }])).toThrow(INVALID_ARGUMENT)
    expect(() => new Policy('x', [{ ...ok, sid: 'a' }, { ...ok, sid: 'b' }, ok, ok])).not.toThrow()
  })

  it('unknown fields, effects, actions, resources', () => {
    bad({ ...ok, Effect: 'Allow' })
    bad({ ...ok, principal: 'alice' })
    bad({ ...ok, notResources: ['/x'] })
    bad({ ...ok, sid: '' })
    bad({ ...ok, sid: 1 })
    bad({ ...ok, effect: 'allow' })
    bad({ ...ok, effect: 'Audit' })
    bad({ actions: ['read'], resources: ['/**'] })
    bad({ ...ok, actions: [] })
    bad({ ...ok, actions: 'read' })
    bad({ ...ok, actions: ['read', 'reed'] })
    bad({ ...ok, actions: ['Read'] })
    bad({ ...ok, actions: ['read:*'] })
    bad({ ...ok, resources: [] })
    bad({ ...ok, resources: '/**' })
    bad({ ...ok, resources: ['data/**'] })
    bad({ ...ok, resources: ['/data/../x'] })
    bad({ ...ok, resources: ['/data//x'] })
    bad({ ...ok, resources: ['/data/'] })
    bad({ ...ok, resources: ['/a|/private/**'] })
    bad(null)
    bad('Allow read /**')
  })

  it('unknown operators and keys, wrong value types, operator/key mismatches', () => {
    bad({ ...ok, conditions: { StringEqualz: { principal: 'a' } } })
    bad({ ...ok, conditions: { StringEquals: { user: 'a' } } })
    bad({ ...ok, conditions: { StringEquals: { principal: 1 } } })
    bad({ ...ok, conditions: { NumericLessThan: { size: '1' } } })
    bad({ ...ok, conditions: { DateLessThan: { size: 1 } } })
    bad({ ...ok, conditions: { DateLessThan: { time: 'soon' } } })
    bad({ ...ok, conditions: [] })
  })

  it('fromJSON also checks the version and the top-level fields', () => {
    const json = { version: 1, name: 'n', statements: [ok] }
    expect(Policy.fromJSON(json).name).toBe('n')
    for (const v of [{ ...json, version: 2 }, { ...json, version: '1' }, { name: 'n', statements: [ok] }, { ...json, extra: true }, { ...json, Statements: [] }, { ...json, statements: {} }, { ...json, statements: [{ ...ok, effect: 'Maybe' }] }, null, [], 1, '{', '[]']) {
      expect(() => Policy.fromJSON(v), JSON.stringify(v)).toThrow(INVALID_ARGUMENT)
    }
  })
})

describe('evaluate refuses requests it cannot decide', () => {
  const p = new Policy('p', [{ effect: Effect.Allow, actions: ['*'], resources: ['/**'] }])

  it('a pattern or unknown action, an unknown request field, a bad context', () => {
    for (const action of ['*', 'snapshot:*', 'reed', 'Read', '', undefined]) expect(() => p.evaluate({ action: action as string, path: '/x' }), String(action)).toThrow(INVALID_ARGUMENT)
    expect(() => p.evaluate({ action: 'read', path: '/x', principal: 'a' } as never)).toThrow(INVALID_ARGUMENT)
    expect(() => p.evaluate({ action: 'read', path: '/x', context: { principal: 7 } } as never)).toThrow(INVALID_ARGUMENT)
    expect(() => p.evaluate({ action: 'read', path: '/x', context: { size: -1 } })).toThrow(INVALID_ARGUMENT)
    expect(() => p.evaluate(null as never)).toThrow(INVALID_ARGUMENT)
    expect(() => p.evaluate({ action: 'read', path: 7 } as never)).toThrow(INVALID_PATH)
  })
})

describe('the JSON form', () => {
  const statements: Statement[] = [
    { sid: 'read', effect: Effect.Allow, actions: [Action.Read, 'snapshot:*'], resources: ['/public/**', '/data/\\[x\\].txt'] },
    { effect: Effect.Deny, actions: ['*'], resources: ['/private/**'], conditions: { StringNotEquals: { principal: ['admin', 'root'] }, DateLessThan: { time: '2030-01-01T00:00:00Z' }, NumericLessThan: { size: 1048576 } } },
  ]
  const policy = new Policy('round-trip', statements)

  it('has version 1, the name and the statements, without absent optional fields', () => {
    expect(policy.toJSON()).toEqual({ version: 1, name: 'round-trip', statements })
    expect(Object.keys(policy.toJSON().statements[1])).toEqual(['effect', 'actions', 'resources', 'conditions'])
  })

  it('round-trips through JSON text to an equal policy that decides the same', () => {
    const text = JSON.stringify(policy)
    const again = Policy.fromJSON(JSON.parse(text))
    expect(again.toJSON()).toEqual(policy.toJSON())
    expect(Policy.fromJSON(text).toJSON()).toEqual(policy.toJSON())
    expect(JSON.stringify(again)).toBe(text)
    for (const path of ['/public/a', '/private/a', '/data/[x].txt', '/data/x.txt', '/other']) {
      for (const context of [{}, { principal: 'admin' }, { principal: 'eve', size: 10 }]) {
        for (const action of ['read', 'write', 'snapshot:read']) expect(again.evaluate({ action, path, context })).toEqual(policy.evaluate({ action, path, context }))
      }
    }
  })

  it('is a copy: the policy is immutable and unaffected by its input or its JSON being changed', () => {
    const input: Statement[] = [{ effect: Effect.Allow, actions: ['read'], resources: ['/a/**'] }]
    const p = new Policy('copy', input)
    ;(input[0].resources as string[]).push('/b/**')
    input.push({ effect: Effect.Allow, actions: ['*'], resources: ['/**'] })
    expect(read(p, '/b/x').allowed).toBe(false)
    expect(p.statements).toHaveLength(1)
    const json = p.toJSON()
    ;(json.statements[0].resources as string[]).push('/c/**')
    expect(p.toJSON().statements[0].resources).toEqual(['/a/**'])
    expect(Object.isFrozen(p.statements)).toBe(true)
    expect(Object.isFrozen(p.statements[0])).toBe(true)
    expect(Object.isFrozen(p.statements[0].actions)).toBe(true)
  })

  it('refuses a cache size that is not a non-negative integer; decisions are frozen and reused', () => {
    for (const cacheSize of [-1, 1.5, Number.NaN, Infinity]) {
      expect(() => new Policy('p', [], { cacheSize })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    }
    const p = new Policy('p', [{ effect: Effect.Allow, actions: [Action.Read], resources: ['/a/**'] }])
    const d = p.evaluate({ action: 'read', path: '/a/x' })
    expect(Object.isFrozen(d)).toBe(true)
    expect(p.evaluate({ action: 'read', path: '/a/x' })).toBe(d)
    expect(p.evaluate({ action: 'read', path: '/a/./x' }).path).toBe('/a/x')
  })
})
