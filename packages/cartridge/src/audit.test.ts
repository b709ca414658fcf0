import { createHash } from 'node:crypto'
import { openSync, readSync, writeSync, closeSync, statSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { NULL_PTR, FilePageStore, PAGE_SIZE } from '@cartridge/pager'
import {
  appendAuditEntries, decodeAuditEntry, emptyAuditState, encodeAuditEntry, leafHash, MerkleFrontier, storedEntries, type AuditEntry,
} from '@cartridge/audit'
import { Engram, generateSigningKey } from '@cartridge/engram'
import { Cartridge, verifyAuditArchive, verifyAuditConsistency, verifyAuditInclusion, type AuditHead } from './index.js'
import { Engine } from '@cartridge/engine'
import { bytes, readAll, rng, tempDir } from './testing/helpers.js'
import { auditDisagreements } from './testing/audit-replay.js'

const tmp = tempDir('audit-')
afterAll(() => tmp.cleanup())

const sha = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest())
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** What a random operation should log. */
interface Expected {
  action: string
  path?: string
  target?: string
  sha256?: Uint8Array
}

/** Runs `n` random operations of every kind, returning the entries they must have logged in order. */
async function randomOps(cart: Cartridge, n: number, seed: number): Promise<Expected[]> {
  const random = rng(seed)
  const expected: Expected[] = []
  const live = () => cart.list('/')
  let snaps = 0
  for (let i = 0; i < n; i++) {
    const r = random()
    const files = await live()
    const pick = () => files[Math.floor(random() * files.length)]
    if (r < 0.45 || files.length === 0) {
      const path = `/d${Math.floor(random() * 4)}/f${Math.floor(random() * 30)}`
      if (files.some((f) => f.startsWith(path + '/'))) continue
      const data = bytes(Math.floor(random() * 3) === 0 ? 70_000 : Math.floor(random() * 3000), seed * 1000 + i)
      await cart.write(path, data)
      expected.push({ action: 'write', path, sha256: sha(data) })
    } else if (r < 0.55) {
      const path = `/s/f${Math.floor(random() * 5)}`
      const data = bytes(100_000 + Math.floor(random() * 100_000), seed * 1000 + i)
      const ws = cart.createWriteStream(path)
      await new Promise<void>((res, rej) => ws.end(data, () => res()).once('error', rej))
      expected.push({ action: 'write', path, sha256: sha(data) })
    } else if (r < 0.65) {
      const path = pick()
      await cart.delete(path)
      expected.push({ action: 'delete', path })
    } else if (r < 0.72) {
      const from = pick()
      const to = `/moved/m${Math.floor(random() * 40)}`
      if (from === to || files.some((f) => f.startsWith(to + '/'))) continue
      await cart.rename(from, to)
      expected.push({ action: 'rename', path: from, target: to })
    } else if (r < 0.76) {
      const dir = `/d${Math.floor(random() * 4)}`
      if (!files.some((f) => f.startsWith(dir + '/'))) continue
      await cart.delete(dir + '/')
      expected.push({ action: 'delete-tree', path: dir })
    } else if (r < 0.84) {
      const a = `/t/a${Math.floor(random() * 5)}`
      const b = bytes(500, i)
      await cart.transaction(async (tx) => {
        await tx.write(a, b)
        await tx.write(a + 'x', b)
      })
      expected.push({ action: 'write', path: a, sha256: sha(b) }, { action: 'write', path: a + 'x', sha256: sha(b) })
    } else if (r < 0.9) {
      const name = `s${snaps++}`
      await cart.createSnapshot(name)
      expected.push({ action: 'snapshot.create', target: name })
    } else if (r < 0.94 && snaps > 0) {
      const list = await cart.listSnapshots()
      if (list.length === 0) continue
      const s = list[Math.floor(random() * list.length)]
      await cart.restoreSnapshot(s.name)
      expected.push({ action: 'snapshot.restore', target: s.name })
    } else if (snaps > 0) {
      const list = await cart.listSnapshots()
      if (list.length === 0) continue
      const s = list[Math.floor(random() * list.length)]
      await cart.deleteSnapshot(s.id)
      expected.push({ action: 'snapshot.delete', target: s.name })
    }
  }
  return expected
}

async function entries(cart: Cartridge): Promise<AuditEntry[]> {
  const out: AuditEntry[] = []
  for await (const e of cart.auditLog()) out.push(e)
  return out
}

/** Rewrites the log of the container at `file` the way an attacker with the format would: `edit` changes the entries, every page and the head are written anew with correct checksums. */
function forgeLog(file: string, edit: (entries: Uint8Array[]) => Uint8Array[]): void {
  const store = FilePageStore.open(file)
  const e = Engine.open(store)
  try {
    const s = e.audit.committed!
    const forged = edit([...storedEntries(e, s, s.base)].map((x) => x.bytes.slice()))
    e.apply(() => {
      const { state, head } = appendAuditEntries(e.structureIO, emptyAuditState(s.flags), NULL_PTR, forged)
      e.audit.relocated(state, head)
    })
    e.commit(true)
  } finally {
    store.close()
  }
}

const reencode = (b: Uint8Array, change: Partial<AuditEntry>) => encodeAuditEntry({ ...decodeAuditEntry(b), ...change })

/** Recomputes every index and prevRoot after an edit: a rewrite the chain alone cannot catch. */
function rechain(list: Uint8Array[]): Uint8Array[] {
  const f = new MerkleFrontier()
  return list.map((b, index) => {
    const out = reencode(b, { index, prevRoot: f.root() })
    f.append(leafHash(out))
    return out
  })
}

describe('audit log', () => {
  it('logs 1,000 random operations in order, each with its content hash, and verifies after reopening', async () => {
    const file = tmp.path('mixed.cart')
    const cart = await Cartridge.create('mixed', 'mixed', { path: file, auditLog: true })
    const expected = await randomOps(cart, 1000, 7)
    const got = await entries(cart)
    expect(got[0].action).toBe('audit.enable')
    expect(got.length).toBe(expected.length + 1)
    got.slice(1).forEach((e, i) => {
      const want = expected[i]
      expect({ i, action: e.action, path: want.path === undefined ? undefined : e.path }).toEqual({ i, action: want.action, path: want.path })
      if (want.target !== undefined) expect(e.target).toBe(want.target)
      if (want.sha256) expect(hex(e.sha256!)).toBe(hex(want.sha256))
    })
    got.forEach((e, i) => expect(e.index).toBe(i))
    expect(await auditDisagreements(cart, await readAll(cart))).toEqual([])
    const report = await cart.verifyAudit()
    expect(report).toMatchObject({ valid: true, size: got.length, checked: got.length, problems: [] })
    const head = await cart.auditHead()
    expect(hex(head.root)).toBe(hex(report.root))
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.close()
    const again = await Cartridge.open(file)
    expect(hex((await again.auditHead()).root)).toBe(hex(head.root))
    expect((await again.verifyAudit()).valid).toBe(true)
    await again.close()
  }, 120_000)

  it('failed operations leave no entry; rolled-back transactions leave none', async () => {
    const cart = await Cartridge.create('fail', 'fail', { path: tmp.path('fail.cart'), auditLog: true })
    await cart.write('/a', 'x')
    const before = (await cart.auditHead()).size
    await expect(cart.delete('/missing')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await expect(cart.write('/a/b', 'x')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_A_DIRECTORY' })
    await expect(cart.transaction(async (tx) => {
      await tx.write('/t', 'y')
      throw new Error('no')
    })).rejects.toThrow('no')
    expect((await cart.auditHead()).size).toBe(before)
    await cart.close()
  })

  it('logs reads when asked, with the hash of what was read, and only then', async () => {
    const cart = await Cartridge.create('reads', 'reads', { path: tmp.path('reads.cart'), auditLog: true })
    await cart.write('/r', 'readable')
    await cart.read('/r')
    expect((await entries(cart)).some((e) => e.action === 'read')).toBe(false)
    await cart.enableAuditLogging({ reads: true })
    await cart.read('/r')
    await cart.read('/r', { offset: 2, length: 3 })
    const log = await entries(cart)
    expect(log.map((e) => e.action)).toEqual(['audit.enable', 'write', 'audit.config', 'read', 'read'])
    expect(hex(log[3].sha256!)).toBe(hex(sha(new TextEncoder().encode('readable'))))
    expect(log[4]).toMatchObject({ size: 3, detail: 'range 2+3' })
    expect((await cart.auditHead()).reads).toBe(true)
    await cart.close()
  })

  it('inclusion proofs verify without the container; consistency proofs show the log only grew', async () => {
    const cart = await Cartridge.create('proofs', 'proofs', { path: tmp.path('proofs.cart'), auditLog: true })
    const heads: AuditHead[] = []
    for (let i = 0; i < 300; i++) {
      await cart.write(`/p${i % 17}`, `v${i}`)
      if (i % 37 === 0) heads.push(await cart.auditHead())
    }
    const head = await cart.auditHead()
    for (const index of [0, 1, 2, 63, 64, 150, head.size - 1]) {
      const p = await cart.auditInclusionProof(index)
      expect(verifyAuditInclusion(p)).toBe(true)
      expect(decodeAuditEntry(p.entry).index).toBe(index)
      expect(verifyAuditInclusion({ ...p, entry: reencode(p.entry, { path: '/other' }) })).toBe(false)
      expect(verifyAuditInclusion({ ...p, index: (index + 1) % head.size })).toBe(false)
    }
    for (const old of heads) {
      const c = await cart.auditConsistencyProof(old)
      expect(hex(c.oldRoot)).toBe(hex(old.root))
      expect(verifyAuditConsistency(c)).toBe(true)
      expect(verifyAuditConsistency({ ...c, oldRoot: sha(c.oldRoot) })).toBe(false)
    }
    await cart.close()
  })

  it('locates a changed, removed, inserted or reordered entry in a forged container', async () => {
    const cases: Array<[string, (l: Uint8Array[], k: number) => Uint8Array[], (k: number) => number]> = [
      ['changed', (l, k) => l.map((b, i) => (i === k ? reencode(b, { path: '/forged' }) : b)), (k) => k],
      ['changed hash', (l, k) => l.map((b, i) => (i === k ? reencode(b, { sha256: sha(b) }) : b)), (k) => k],
      ['removed', (l, k) => l.filter((_, i) => i !== k), (k) => k],
      ['inserted', (l, k) => {
        const f = new MerkleFrontier()
        for (const b of l.slice(0, k)) f.append(leafHash(b))
        return [...l.slice(0, k), reencode(l[k], { index: k, prevRoot: f.root(), path: '/inserted' }), ...l.slice(k)]
      }, (k) => k],
      ['reordered', (l, k) => l.map((b, i) => (i === k ? l[k + 1] : i === k + 1 ? l[k] : b)), (k) => k],
    ]
    const random = rng(99)
    for (const [name, edit, bad] of cases) {
      for (let trial = 0; trial < 4; trial++) {
        const file = tmp.path(`forge-${name.replace(' ', '-')}-${trial}.cart`)
        const cart = await Cartridge.create('forge', 'forge', { path: file, auditLog: true })
        for (let i = 0; i < 120; i++) await cart.write(`/f${i % 9}`, `content ${i}`)
        const size = (await cart.auditHead()).size
        await cart.close()
        const k = 1 + Math.floor(random() * (size - 3))
        forgeLog(file, (l) => edit(l, k))
        const c = await Cartridge.open(file)
        const report = await c.verifyAudit()
        expect({ name, k, valid: report.valid, firstBad: report.firstBad }).toEqual({ name, k, valid: false, firstBad: bad(k) })
        await c.close()
      }
    }
  }, 60_000)

  it('a rewrite that recomputes the whole chain is caught by a kept head, a signed checkpoint and the consistency proof', async () => {
    const file = tmp.path('rewrite.cart')
    const { secretKey, publicKey } = await generateSigningKey()
    const other = await generateSigningKey()
    const cart = await Cartridge.create('rewrite', 'rewrite', { path: file, auditLog: true })
    for (let i = 0; i < 50; i++) await cart.write(`/f${i}`, `c${i}`)
    const kept = await cart.auditHead()
    const checkpoint = await cart.auditCheckpoint({ secretKey })
    expect(checkpoint.size).toBe(kept.size)
    for (let i = 0; i < 10; i++) await cart.write(`/g${i}`, `c${i}`)
    expect((await cart.verifyAudit({ trusted: [kept, checkpoint], publicKey })).valid).toBe(true)
    expect((await cart.verifyAudit({ trusted: [checkpoint], publicKey: other.publicKey })).valid).toBe(false)
    await cart.close()
    forgeLog(file, (l) => rechain(l.map((b, i) => (i === 20 ? reencode(b, { path: '/hidden' }) : b))))
    const c = await Cartridge.open(file)
    expect((await c.verifyAudit()).valid).toBe(true)
    const withHead = await c.verifyAudit({ trusted: [kept] })
    expect(withHead.valid).toBe(false)
    expect(withHead.firstBad).toBe(kept.size - 1)
    expect((await c.verifyAudit({ trusted: [checkpoint], publicKey })).valid).toBe(false)
    const proof = await c.auditConsistencyProof(kept.size)
    expect(verifyAuditConsistency({ ...proof, oldRoot: kept.root })).toBe(false)
    await c.close()
  })

  it('a damaged entry page is reported at the entries it holds', async () => {
    const file = tmp.path('damage.cart')
    const cart = await Cartridge.create('damage', 'damage', { path: file, auditLog: true })
    for (let i = 0; i < 400; i++) await cart.write(`/f${i % 5}`, 'x')
    await cart.close()
    // Find an entry page (type 9) early in the log and flip one byte in its payload.
    const fd = openSync(file, 'r+')
    const pages = statSync(file).size / PAGE_SIZE
    const page = new Uint8Array(PAGE_SIZE)
    let target = -1
    let first = -1
    for (let p = 2; p < pages && target < 0; p++) {
      readSync(fd, page, 0, PAGE_SIZE, p * PAGE_SIZE)
      const entry = page[4] === 9 ? decodeAuditEntry(page.subarray(34, 34 + (page[32] | (page[33] << 8)))) : undefined
      if (entry && entry.index < 200) {
        target = p
        first = entry.index
      }
    }
    expect(target).toBeGreaterThan(0)
    page[200] ^= 0x10
    writeSync(fd, page.subarray(200, 201), 0, 1, target * PAGE_SIZE + 200)
    closeSync(fd)
    const c = await Cartridge.open(file)
    const report = await c.verifyAudit()
    expect(report.valid).toBe(false)
    // The page is found by the newest entries that point at it or by its checksum; either way at the entries it holds.
    expect(report.firstBad).toBeGreaterThanOrEqual(first === 0 ? 0 : first - 1)
    expect(report.firstBad).toBeLessThan(first + 60)
    expect((await c.check()).ok).toBe(false)
    await c.close()
  })

  it('rotates into a signed archive without breaking the chain', async () => {
    const file = tmp.path('rotate.cart')
    const { secretKey, publicKey } = await generateSigningKey()
    const cart = await Cartridge.create('rotate', 'rotate', { path: file, auditLog: true })
    for (let i = 0; i < 200; i++) await cart.write(`/f${i % 7}`, `v${i}`)
    const before = await cart.auditHead()
    const r1 = await cart.rotateAudit(tmp.path('audit-1.eng'), { secretKey })
    expect(r1).toMatchObject({ base: 0, size: before.size })
    for (let i = 0; i < 50; i++) await cart.write(`/g${i % 7}`, `v${i}`)
    const r2 = await cart.rotateAudit(tmp.path('audit-2.eng'), { secretKey })
    for (let i = 0; i < 20; i++) await cart.write(`/h${i % 7}`, `v${i}`)
    const head = await cart.auditHead()
    expect(head.base).toBe(r2.size)
    expect(hex(head.baseRoot)).toBe(hex(r2.root))
    const a1 = await verifyAuditArchive(tmp.path('audit-1.eng'), publicKey)
    const a2 = await verifyAuditArchive(tmp.path('audit-2.eng'), publicKey)
    expect(a1).toMatchObject({ valid: true, base: 0, size: before.size })
    expect(a2).toMatchObject({ valid: true, base: a1.size, size: r2.size })
    expect(hex(a2.baseRoot)).toBe(hex(a1.root))
    expect(hex(a1.root)).toBe(hex(before.root))
    const report = await cart.verifyAudit({ trusted: [{ size: r2.size, root: r2.root }] })
    expect(report).toMatchObject({ valid: true, base: r2.size, size: head.size })
    // Proofs of stored entries hold against the full log's root; rotated ones are NOT_FOUND.
    expect(verifyAuditInclusion(await cart.auditInclusionProof(head.size - 3))).toBe(true)
    await expect(cart.auditInclusionProof(5)).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    expect(verifyAuditConsistency(await cart.auditConsistencyProof(r2.size))).toBe(true)
    expect((await entries(cart))[0].index).toBe(r2.size)
    expect((await entries(cart))[0].action).toBe('audit.rotate')
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.close()
    // The archive is tamper-evident like any engram.
    const eng = await Engram.open(tmp.path('audit-1.eng'), { publicKey })
    expect(eng.manifest.audit).toMatchObject({ size: before.size, root: hex(before.root), base: 0 })
    await eng.close()
  })

  it('freezing records the head in the signed manifest and logs the freeze', async () => {
    const { secretKey, publicKey } = await generateSigningKey()
    const cart = await Cartridge.create('frz', 'frz', { path: tmp.path('frz.cart'), auditLog: true })
    await cart.write('/a', 'a')
    const head = await cart.auditHead()
    await cart.freezeToEngram(tmp.path('frz.eng'), { secretKey })
    const eng = await Engram.open(tmp.path('frz.eng'), { publicKey })
    expect(eng.manifest.audit).toEqual({ size: head.size, root: hex(head.root) })
    await eng.close()
    const log = await entries(cart)
    expect(log[log.length - 1]).toMatchObject({ action: 'freeze', target: 'frz.eng' })
    await cart.close()
  })

  it('vacuum moves the log with everything else and restore does not rewrite it', async () => {
    const file = tmp.path('vac.cart')
    const cart = await Cartridge.create('vac', 'vac', { path: file, auditLog: true })
    for (let i = 0; i < 60; i++) await cart.write(`/big${i}`, bytes(50_000, i))
    await cart.createSnapshot('s')
    for (let i = 0; i < 60; i++) await cart.write(`/log${i}`, 'small')
    await cart.restoreSnapshot('s')
    await cart.deleteSnapshot('s')
    await cart.delete('/')
    for (let i = 0; i < 200; i++) await cart.write(`/tiny${i % 10}`, `t${i}`)
    const head = await cart.auditHead()
    const sizeBefore = statSync(file).size
    await cart.vacuum({ stepPages: 16 })
    expect(statSync(file).size).toBeLessThan(sizeBefore / 4)
    const report = await cart.verifyAudit({ trusted: [head] })
    expect(report.valid).toBe(true)
    expect(report.size).toBe(head.size + 1)
    expect((await entries(cart)).at(-1)!.action).toBe('vacuum')
    expect((await cart.check({ data: true })).ok).toBe(true)
    expect(await auditDisagreements(cart, await readAll(cart))).toEqual([])
    await cart.close()
    const again = await Cartridge.open(file)
    expect((await again.verifyAudit({ trusted: [head] })).valid).toBe(true)
    await again.close()
  })

  it('an encrypted container keeps its log through a rekey and enableEncryption, entry for entry', async () => {
    const file = tmp.path('enc.cart')
    const cart = await Cartridge.create('enc', 'enc', { path: file, auditLog: true })
    for (let i = 0; i < 30; i++) await cart.write(`/f${i % 4}`, `v${i}`)
    const head = await cart.auditHead()
    await cart.enableEncryption({ passphrase: 'pw', scrypt: { logN: 10, r: 8, p: 1 } })
    await cart.rekey()
    const log = await entries(cart)
    expect(log.slice(-2).map((e) => e.action)).toEqual(['encryption.enable', 'key.rekey'])
    expect((await cart.verifyAudit({ trusted: [head] })).valid).toBe(true)
    await cart.close()
    const again = await Cartridge.open(file, { passphrase: 'pw' })
    expect((await again.verifyAudit({ trusted: [head] })).valid).toBe(true)
    expect((await again.check({ data: true })).ok).toBe(true)
    await again.close()
  })

  it('a container without a log is written as format 1.2; one with a log as 1.3', async () => {
    const plain = await Cartridge.create('v12', 'v12', { path: tmp.path('v12.cart') })
    await plain.write('/a', 'a')
    await plain.close()
    const logged = await Cartridge.create('v13', 'v13', { path: tmp.path('v13.cart'), auditLog: true })
    await logged.close()
    const minor = (f: string) => {
      const b = new Uint8Array(4096)
      const fd = openSync(f, 'r')
      readSync(fd, b, 0, 4096, 0)
      const b1 = new Uint8Array(4096)
      readSync(fd, b1, 0, 4096, 4096)
      closeSync(fd)
      const txn = (x: Uint8Array) => Number(Buffer.from(x).readBigUInt64LE(16))
      const newest = txn(b1) > txn(b) ? b1 : b
      return newest[10]
    }
    expect(minor(tmp.path('v12.cart'))).toBe(2)
    expect(minor(tmp.path('v13.cart'))).toBe(3)
  })

  it.skipIf(process.env.CARTRIDGE_SKIP_SQLITE === '1')('each SQLite commit is logged as db.write in the commit that makes it', async () => {
    const cart = await Cartridge.create('db', 'db', { path: tmp.path('db.cart'), auditLog: true })
    const db = cart.sqlite('/app.db')
    db.exec('CREATE TABLE t (x)')
    db.prepare('INSERT INTO t VALUES (?)').run(1)
    db.transaction(() => {
      for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?)').run(i)
    })()
    db.close()
    const writes = (await entries(cart)).filter((e) => e.action === 'db.write')
    expect(writes.length).toBeGreaterThanOrEqual(3)
    expect(writes.every((e) => e.path === '/app.db' && (e.size ?? 0) > 0 && /pages/.test(e.detail))).toBe(true)
    expect((await cart.verifyAudit()).valid).toBe(true)
    await cart.close()
  })

  it('reads inside a transaction are logged with it when reads are logged', async () => {
    const cart = await Cartridge.create('txr', 'txr', { path: tmp.path('txr.cart'), auditLog: { reads: true } })
    await cart.write('/x', 'x')
    await cart.transaction(async (tx) => {
      await tx.read('/x')
      await tx.write('/y', 'y')
    })
    expect((await entries(cart)).map((e) => e.action)).toEqual(['audit.enable', 'write', 'read', 'write'])
    await cart.close()
  })
})
