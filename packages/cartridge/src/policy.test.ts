import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKey } from '@cartridge/engram'
import { Action, Cartridge, Effect, FaultyPageStore, MemoryPageStore, Policy, isCartridgeError } from './index.js'
import { rng } from './testing/helpers.js'
import { tempDir } from './testing/helpers.js'

const tmp = tempDir('policy-')
afterAll(() => tmp.cleanup())

const readOnlyPublic = new Policy('read-only', [
  { effect: Effect.Allow, actions: [Action.Read, Action.List, Action.Metadata], resources: ['/public/**'] },
  { sid: 'no-changes', effect: Effect.Deny, actions: [Action.Write, Action.Delete], resources: ['/**'] },
])

async function seeded(name: string, options: Parameters<typeof Cartridge.create>[2] = {}): Promise<Cartridge> {
  const cart = await Cartridge.create(name, name, { path: tmp.path(`${name}.cart`), ...options })
  await cart.write('/public/a.txt', 'public a')
  await cart.write('/public/sub/b.txt', 'public b')
  await cart.write('/private/secret.txt', 'the secret')
  await cart.write('/test.txt', 'top')
  return cart
}

const denied = (action: string, path: string) => ({ code: 'CARTRIDGE_ACCESS_DENIED', action, path })

describe('access policies on a container', () => {
  it('the issue example: writes are denied with the action, the path and the deciding statement', async () => {
    const cart = await seeded('example')
    await cart.setPolicy(readOnlyPublic)
    await expect(cart.write('/test.txt', 'data')).rejects.toMatchObject({ ...denied('write', '/test.txt'), statement: { index: 1, sid: 'no-changes' } })
    await expect(cart.read('/public/a.txt')).resolves.toEqual(new TextEncoder().encode('public a'))
    await expect(cart.read('/private/secret.txt')).rejects.toMatchObject({ ...denied('read', '/private/secret.txt') })
    const err = await cart.read('/private/secret.txt').catch((e: unknown) => e)
    expect(isCartridgeError(err) && (err as { statement?: unknown }).statement).toBe(undefined) // implicit deny: no statement decided
    await expect(cart.read('/public/../private/secret.txt')).rejects.toMatchObject(denied('read', '/private/secret.txt'))
    await expect(cart.delete('/public/a.txt')).rejects.toMatchObject(denied('delete', '/public/a.txt'))
    await expect(cart.rename('/public/a.txt', '/public/c.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    // Changing the policy is an action under it too: this one allows no policy:admin, so it stays.
    await expect(cart.setPolicy(null)).rejects.toMatchObject(denied('policy:admin', '/'))
    await expect(cart.read('/private/secret.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    await cart.close()
    // It was not persisted: the next handle has none.
    const again = await Cartridge.open(tmp.path('example.cart'))
    expect(await again.readText('/private/secret.txt')).toBe('the secret')
    await again.close()
  })

  it('listings show only what the caller may list; a denied subtree is invisible, not an error', async () => {
    const cart = await seeded('listing')
    await cart.setPolicy(readOnlyPublic)
    expect(await cart.list('/')).toEqual(['/public/a.txt', '/public/sub/b.txt'])
    expect((await cart.readdir('/')).map((d) => d.name)).toEqual(['public'])
    expect((await cart.readdir('/public')).map((d) => `${d.kind}:${d.name}`)).toEqual(['file:a.txt', 'dir:sub'])
    await expect(cart.readdir('/private')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    const scanned: string[] = []
    for await (const p of cart.scan('/')) scanned.push(p)
    expect(scanned).toEqual(['/public/a.txt', '/public/sub/b.txt'])
    await expect(cart.exists('/private/secret.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    await cart.close()
  })

  it('as(): conditions see the principal and tags; the audit log records the principal', async () => {
    const cart = await seeded('as', { auditLog: true })
    const policy = new Policy('teams', [
      { effect: Effect.Allow, actions: [Action.Read, Action.List, Action.Write], resources: ['/public/**'], conditions: { StringEquals: { 'tag:team': 'ml' } } },
      { effect: Effect.Allow, actions: [Action.All], resources: ['/**'], conditions: { StringEquals: { principal: 'admin' } } },
      { effect: Effect.Deny, actions: [Action.Write], resources: ['/**'], conditions: { NumericGreaterThan: { size: 100 } } },
    ])
    await cart.as({ principal: 'admin' }).setPolicy(policy)
    const alice = cart.as({ principal: 'alice', tags: { team: 'ml' } })
    const bob = cart.as({ principal: 'bob', tags: { team: 'web' } })
    await alice.write('/public/by-alice.txt', 'hello')
    await expect(alice.write('/public/big.txt', 'x'.repeat(101))).rejects.toMatchObject(denied('write', '/public/big.txt'))
    // A stream's size is known at its end: the size condition decides there, and nothing is installed.
    await expect(new Promise<void>((resolve, reject) => {
      const ws = alice.createWriteStream('/public/big-stream.txt')
      ws.once('error', reject)
      ws.end('y'.repeat(500), (err?: Error | null) => (err ? reject(err) : resolve()))
    })).rejects.toMatchObject(denied('write', '/public/big-stream.txt'))
    expect(await cart.as({ principal: 'admin' }).exists('/public/big-stream.txt')).toBe(false)
    await expect(bob.read('/public/a.txt')).rejects.toMatchObject(denied('read', '/public/a.txt'))
    await expect(alice.read('/private/secret.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    await expect(cart.read('/public/a.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' }) // no context: OS user, no tags
    // The context follows into transactions and streams started from the view.
    await alice.transaction(async (tx) => {
      await tx.write('/public/tx.txt', 'in a transaction')
      await expect(tx.write('/private/tx.txt', 'no')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    })
    await expect(bob.transaction(async (tx) => tx.write('/public/tx2.txt', 'no'))).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    const admin = cart.as({ principal: 'admin' })
    const log: string[] = []
    for await (const e of admin.auditLog({ action: 'write' })) log.push(`${e.principal} ${e.path}`)
    expect(log.slice(-2)).toEqual(['alice /public/by-alice.txt', 'alice /public/tx.txt'])
    // Operations that commit on their own record the caller too.
    await admin.createSnapshot('by-admin')
    await admin.vacuum()
    const last: string[] = []
    for await (const e of admin.auditLog({ action: ['snapshot.create', 'vacuum'] })) last.push(`${e.principal} ${e.action}`)
    expect(last).toEqual(['admin snapshot.create', 'admin vacuum'])
    await expect(alice.auditHead()).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    await cart.close()
  })

  it('a persisted policy holds after reopening, is itself guarded, and a change decides the next call', async () => {
    const file = tmp.path('persist.cart')
    const cart = await seeded('persist')
    const policy = new Policy('admin-only-policy', [
      { effect: Effect.Allow, actions: [Action.Read, Action.List, Action.Metadata], resources: ['/**'] },
      { effect: Effect.Allow, actions: [Action.PolicyAdmin], resources: ['/'], conditions: { StringEquals: { principal: 'root-admin' } } },
    ])
    await cart.setPolicy(policy, { persist: true })
    await expect(cart.write('/x', 'y')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    await expect(cart.setPolicy(null, { persist: true })).rejects.toMatchObject(denied('policy:admin', '/'))
    await cart.close()
    const again = await Cartridge.open(file)
    await expect(again.write('/x', 'y')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    expect(await again.readText('/private/secret.txt')).toBe('the secret')
    const admin = again.as({ principal: 'root-admin' })
    expect(admin.getPolicy()?.name).toBe('admin-only-policy')
    await admin.setPolicy(null, { persist: true })
    await again.write('/x', 'y') // the very next call
    expect((await again.check()).ok).toBe(true)
    await again.close()
    const third = await Cartridge.open(file)
    await third.write('/z', 'z')
    await third.close()
  })

  it('every container operation is an action: snapshots, vacuum, admin, freeze, audit, SQLite', async () => {
    const cart = await seeded('actions', { auditLog: true })
    await cart.createSnapshot('before')
    await cart.setPolicy(new Policy('files-only', [{ effect: Effect.Allow, actions: [Action.Read, Action.Write, Action.List, Action.Metadata, Action.Delete], resources: ['/*/**'] }]))
    const { secretKey } = await generateSigningKey()
    const checks: Array<[string, () => Promise<unknown>]> = [
      ['snapshot:create', () => cart.createSnapshot('x')],
      ['snapshot:restore', () => cart.restoreSnapshot('before')],
      ['snapshot:delete', () => cart.deleteSnapshot('before')],
      ['snapshot:read', () => cart.listSnapshots()],
      ['snapshot:read', () => cart.snapshot('before').read('/public/a.txt')],
      ['snapshot:read', () => cart.diffSnapshots('before')],
      ['vacuum', () => cart.vacuum()],
      ['container:admin', () => cart.enableCompression('lz4')],
      ['container:admin', () => cart.recompress()],
      ['container:admin', () => cart.check()],
      ['engram:freeze', () => cart.freezeToEngram(tmp.path('actions.eng'), { secretKey })],
      ['audit:read', () => cart.auditHead()],
      ['audit:read', () => cart.verifyAudit()],
      ['audit:read', async () => {
        for await (const _ of cart.auditLog()) break
      }],
      ['container:admin', () => cart.auditCheckpoint({ secretKey })],
      ['policy:admin', () => cart.setPolicy(null)],
      ['metadata', () => cart.info()],
    ]
    for (const [action, call] of checks) await expect(call(), action).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED', action })
    expect(() => cart.createReadStream('/private/none')).not.toThrow() // reads of files are allowed here
    if (process.env.CARTRIDGE_SKIP_SQLITE !== '1') {
      expect(() => cart.sqlite('/app.db')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_ACCESS_DENIED', action: 'sqlite:write', path: '/app.db' }))
      expect(() => cart.sqlite('/app.db', { readonly: true })).toThrow(expect.objectContaining({ action: 'sqlite:read' }))
    }
    await cart.as({ principal: 'x' }).write('/public/still.txt', 'files are fine')
    await cart.close()
  })

  it('a delete of a directory or a rename of one checks every file in it, and changes nothing when one is denied', async () => {
    const cart = await seeded('tree')
    await cart.setPolicy(new Policy('no-secret', [
      { effect: Effect.Allow, actions: [Action.All], resources: ['/**'] },
      { effect: Effect.Deny, actions: [Action.Delete, Action.Write, Action.Read], resources: ['/private/**'] },
    ]))
    await expect(cart.delete('/')).rejects.toMatchObject(denied('delete', '/private/secret.txt'))
    await expect(cart.rename('/private', '/moved')).rejects.toMatchObject(denied('delete', '/private/secret.txt'))
    await expect(cart.rename('/public', '/private/public')).rejects.toMatchObject(denied('write', '/private/public/a.txt'))
    await cart.setPolicy(null)
    expect(await cart.list('/')).toEqual(['/private/secret.txt', '/public/a.txt', '/public/sub/b.txt', '/test.txt'])
    await cart.close()
  })

  it('a stored policy survives vacuum, check, rekey and reopen, and its pages are accounted for', async () => {
    const file = tmp.path('stored.cart')
    const cart = await seeded('stored')
    const big = new Policy('big', Array.from({ length: 120 }, (_, i) => ({
      sid: `s${i}`, effect: Effect.Allow, actions: [Action.All], resources: [`/area-${i}/**`, '/public/**', '/private/**', '/'],
    })))
    await cart.setPolicy(big, { persist: true })
    for (let i = 0; i < 40; i++) await cart.write(`/public/big${i}`, new Uint8Array(60_000).fill(i))
    for (let i = 0; i < 40; i++) await cart.delete(`/public/big${i}`)
    await cart.vacuum()
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.enableEncryption({ passphrase: 'pw', scrypt: { logN: 10, r: 8, p: 1 } })
    await cart.close()
    const again = await Cartridge.open(file, { passphrase: 'pw' })
    expect(again.getPolicy()?.statements.length).toBe(120)
    await expect(again.write('/elsewhere.txt', 'x')).rejects.toMatchObject({ code: 'CARTRIDGE_ACCESS_DENIED' })
    expect((await again.check({ data: true })).ok).toBe(true)
    await again.close()
  })

  it('power loss while a policy is stored leaves the old policy or the new one, never none', async () => {
    const one = new Policy('one', [{ effect: Effect.Allow, actions: [Action.All], resources: ['/**', '/'] }])
    const two = new Policy('two', [{ effect: Effect.Allow, actions: [Action.All], resources: ['/**', '/'] }, { effect: Effect.Deny, actions: [Action.Write], resources: ['/locked/**'] }])
    const random = rng(44)
    // Crash points while the new policy is stored: its writes and its sync, counted on a run without a cut.
    const dry = new FaultyPageStore(undefined, { crashInSync: true })
    const counted = await Cartridge.fromStore(dry, { create: { slug: 'cut' } })
    await counted.write('/a', 'a')
    await counted.setPolicy(one, { persist: true })
    const before = dry.writes
    await counted.setPolicy(two, { persist: true })
    const points = dry.writes - before
    expect(points).toBeGreaterThan(1)
    let cut = 0
    for (let trial = 0; trial < 120; trial++) {
      const store = new FaultyPageStore(undefined, { random, crashInSync: true })
      const cart = await Cartridge.fromStore(store, { create: { slug: 'cut' } })
      await cart.write('/a', 'a')
      await cart.setPolicy(one, { persist: true })
      // Every crash point, and (one trial in points + 1) none.
      store.failAfter(1 + Math.floor(random() * (points + 1)))
      await cart.setPolicy(two, { persist: true }).catch(() => {})
      if (store.crashed) cut++
      store.cut()
      const reopened = await Cartridge.fromStore(new MemoryPageStore(store.crashImage(trial % 2 === 0 ? 'drop-or-tear' : 'random')))
      expect(['one', 'two']).toContain(reopened.getPolicy()?.name)
      expect((await reopened.check()).ok).toBe(true)
      await reopened.close()
    }
    expect(cut).toBeGreaterThan(120 * (points / (points + 1)) - 20)
  })
})
