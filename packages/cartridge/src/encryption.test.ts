import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MemoryPageStore } from '@cartridge/pager'
import { Cartridge, CartridgeBuilder } from './index.js'
import { bytes, rng, tempDir } from './testing/helpers.js'
import { Engine, chunksOf, decodeFileRecord } from '@cartridge/engine'

// CARTRIDGE_SKIP_SQLITE: scripts/node-versions.sh runs this file under a Node the workspace's better-sqlite3 was not built for.
const withSqlite = process.env.CARTRIDGE_SKIP_SQLITE !== '1'

/** Tests use a cheap scrypt cost; one test checks the default. */
const FAST = { logN: 10, r: 8, p: 1 }
const passphrase = 'correct horse battery staple'
const enc = { passphrase, scrypt: FAST }

function text(size: number, seed = 1): Uint8Array {
  let s = ''
  for (let i = 0; s.length < size; i++) s += `entry ${(i * 7919 + seed) % 100_003} of the ledger, amount ${(i * 31) % 977}\n`
  return new TextEncoder().encode(s.slice(0, size))
}

/** Files with known contents and names, for the plaintext scan and the tamper sweep. */
function sampleFiles(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ['/secret/alpha-plans.txt', text(3000, 1)],
    ['/secret/bravo-ledger.csv', text(150_000, 2)],
    ['/media/charlie-photo.bin', bytes(200_000, 3)],
    ['/delta-notes.md', text(400, 4)],
    ['/echo/foxtrot/golf-report.txt', text(70_000, 5)],
  ])
}

async function fill(cart: Cartridge, files: Map<string, Uint8Array>): Promise<void> {
  for (const [p, d] of files) await cart.write(p, d)
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

describe('encryption', () => {
  for (const compression of [undefined, { codec: 'zstd' as const }, { codec: 'lz4' as const }]) {
    it(`round-trips files, ranges, streams, snapshots and vacuum (compression ${compression?.codec ?? 'none'})`, async () => {
      const tmp = tempDir()
      try {
        const path = tmp.path('vault.cart')
        const cart = await Cartridge.create('vault', 'Vault', { path, encryption: enc, compression })
        const files = sampleFiles()
        await fill(cart, files)
        await cart.createSnapshot('v1')
        await cart.write('/secret/alpha-plans.txt', text(5000, 9))
        await cart.delete('/media/charlie-photo.bin')
        const big = text(3_000_000, 7)
        const ws = cart.createWriteStream('/streamed.log')
        for (let off = 0; off < big.length; off += 100_003) ws.write(big.subarray(off, off + 100_003))
        await new Promise((resolve, reject) => ws.end(resolve).on('error', reject))
        expect((await cart.check({ data: true })).ok).toBe(true)
        await cart.close()
        const again = await Cartridge.open(path, { passphrase })
        expect((await again.info()).encryption).toEqual({ cipher: 'aes-256-gcm', keyFrom: 'passphrase' })
        expect(same(await again.read('/streamed.log'), big)).toBe(true)
        expect(same(await again.read('/streamed.log', { offset: 65_530, length: 200_000 }), big.subarray(65_530, 265_530))).toBe(true)
        const v1 = again.snapshot('v1')
        for (const [p, d] of files) expect(same(await v1.read(p), d), p).toBe(true)
        await again.deleteSnapshot('v1')
        await again.vacuum()
        expect(same(await again.read('/secret/alpha-plans.txt'), text(5000, 9))).toBe(true)
        expect((await again.check({ data: true })).ok).toBe(true)
        await again.close()
      } finally {
        tmp.cleanup()
      }
    })
  }

  it.skipIf(!withSqlite)('SQLite databases live sealed inside an encrypted container', async () => {
    const tmp = tempDir()
    try {
      const path = tmp.path('db.cart')
      const cart = await Cartridge.create('db', 'db', { path, encryption: { key: new Uint8Array(32).fill(7) } })
      const db = cart.sqlite('/app.db')
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, secret TEXT)')
      const insert = db.prepare('INSERT INTO t (secret) VALUES (?)')
      db.transaction(() => {
        for (let i = 0; i < 3000; i++) insert.run(`hotel-india-${i}`)
      })()
      await cart.close()
      const raw = (await import('node:fs')).readFileSync(path)
      expect(raw.includes('hotel-india-')).toBe(false)
      expect(raw.includes('SQLite format 3')).toBe(false)
      const again = await Cartridge.open(path, { key: new Uint8Array(32).fill(7) })
      const db2 = again.sqlite('/app.db')
      expect(db2.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 3000 })
      expect((await again.check({ data: true })).ok).toBe(true)
      await again.close()
    } finally {
      tmp.cleanup()
    }
  })

  it('wrong key or passphrase is CARTRIDGE_BAD_KEY at open; a missing one says what is needed', async () => {
    const tmp = tempDir()
    try {
      const path = tmp.path('k.cart')
      await (await new CartridgeBuilder().slug('k').path(path).encryption(enc).build()).close()
      await expect(Cartridge.open(path, { passphrase: 'wrong' })).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      await expect(Cartridge.open(path)).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY', message: expect.stringContaining('passphrase') })
      await expect(Cartridge.open(path, { key: new Uint8Array(32) })).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      await expect(Cartridge.open(path, { passphrase, readOnly: true })).resolves.toBeDefined()
      const keyed = tmp.path('raw.cart')
      await (await Cartridge.create('raw', 'raw', { path: keyed, encryption: { key: new Uint8Array(32).fill(1) } })).close()
      await expect(Cartridge.open(keyed, { key: new Uint8Array(32).fill(2) })).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      await expect(Cartridge.open(keyed, { passphrase })).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      await expect(Cartridge.open(keyed, { key: new Uint8Array(31) })).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      const plain = tmp.path('plain.cart')
      await (await Cartridge.create('plain', 'plain', { path: plain })).close()
      await expect(Cartridge.open(plain, { passphrase })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    } finally {
      tmp.cleanup()
    }
  })

  it('the file shows nothing but its size and that it is a container: no name, no 16-byte window of content', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'scan', title: 'Quarterly secrets' }, encryption: enc })
    const files = sampleFiles()
    await fill(cart, files)
    await cart.createSnapshot('kilo-snapshot')
    await cart.close()
    const image = Buffer.from(store.snapshot())
    const needles = [...files.keys()].flatMap((p) => p.split('/').filter(Boolean)).concat(['Quarterly secrets', 'scan', 'kilo-snapshot'])
    for (const n of needles) expect(image.includes(Buffer.from(n)), n).toBe(false)
    for (const [p, d] of files) {
      for (let off = 0; off + 16 <= d.length; off += 997) {
        expect(image.includes(Buffer.from(d.subarray(off, off + 16))), `${p} @ ${off}`).toBe(false)
      }
    }
    expect(image.subarray(0, 8).toString()).toBe('CARTRIDG')
  })

  it('flipping any of 2,000 random bytes: every read is the right bytes or a coded error, never other bytes', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'flip' }, encryption: enc, compression: { codec: 'zstd' } })
    const files = sampleFiles()
    await fill(cart, files)
    await cart.close()
    const image = store.snapshot()
    const random = rng(42)
    let errors = 0
    let intact = 0
    const codes = new Map<string, number>()
    for (let t = 0; t < 2000; t++) {
      const copy = image.slice()
      const at = Math.floor(random() * copy.length)
      copy[at] ^= 1 << Math.floor(random() * 8)
      let c: Cartridge
      try {
        c = await Cartridge.fromStore(new MemoryPageStore(copy), { passphrase })
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'uncoded'
        expect(code, `open after a flip at ${at}`).toMatch(/^CARTRIDGE_/)
        codes.set(code, (codes.get(code) ?? 0) + 1)
        errors++
        continue
      }
      for (const [p, d] of files) {
        try {
          const got = await c.read(p)
          expect(same(got, d), `${p} after a flip at ${at}`).toBe(true)
          intact++
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'uncoded'
          expect(code, `${p} after a flip at ${at}: ${err}`).toMatch(/^CARTRIDGE_/)
          codes.set(code, (codes.get(code) ?? 0) + 1)
          errors++
        }
      }
      await c.close().catch(() => {})
    }
    console.log(`encrypted flips: ${intact} intact reads, ${errors} coded errors`, Object.fromEntries(codes))
    expect(errors).toBeGreaterThan(100)
    // Flips in the clear header of a meta page leave the other slot: any other changed byte fails authentication.
    expect([...codes.keys()]).toEqual(['CARTRIDGE_AUTH_FAILED'])
  }, 300_000)

  it('swapped chunks, and an older chunk or catalog page spliced in from an earlier copy, are detected', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'splice' }, encryption: enc })
    await cart.write('/a.bin', bytes(200_000, 1))
    await cart.write('/b.bin', bytes(200_000, 2))
    await cart.flush()
    const older = store.snapshot()
    await cart.write('/a.bin', bytes(200_000, 3))
    await cart.write('/c.txt', 'a new name in the catalog')
    await cart.close()
    const newer = store.snapshot()
    // Every page that differs between the copies: put the older version back, one at a time.
    let spliced = 0
    for (let p = 2; p < Math.min(older.length, newer.length) / 4096; p++) {
      const a = older.subarray(p * 4096, (p + 1) * 4096)
      const b = newer.subarray(p * 4096, (p + 1) * 4096)
      if (Buffer.from(a).equals(Buffer.from(b))) continue
      const copy = newer.slice()
      copy.set(a, p * 4096)
      spliced++
      const c = await Cartridge.fromStore(new MemoryPageStore(copy), { passphrase }).catch((err) => err)
      if (!(c instanceof Cartridge)) {
        expect(c.code).toMatch(/^CARTRIDGE_(AUTH_FAILED|CORRUPT)$/)
        continue
      }
      for (const [path, want] of [['/a.bin', bytes(200_000, 3)], ['/b.bin', bytes(200_000, 2)]] as const) {
        const got = await c.read(path).catch((err) => err)
        if (got instanceof Uint8Array) expect(same(got, want), `${path} with page ${p} spliced from the older copy`).toBe(true)
        else expect(got.code).toMatch(/^CARTRIDGE_(AUTH_FAILED|CORRUPT|NOT_FOUND)$/)
      }
      await c.close().catch(() => {})
    }
    expect(spliced).toBeGreaterThan(10)
    // Two sealed chunks swapped: each run now holds the other file's ciphertext (with a right CRC in its own place).
    const e = Engine.open(new MemoryPageStore(newer.slice()), { passphrase })
    const first = (path: string) => chunksOf(e, decodeFileRecord(e.catalog.get(path)!, path))[0]
    const [ca, cb] = [first('/a.bin'), first('/b.bin')]
    expect(ca.cipher).toBe(1)
    const swap = newer.slice()
    const pages = Math.min(ca.runPages || 16, cb.runPages || 16)
    const runA = swap.slice(ca.page * 4096, (ca.page + pages) * 4096)
    swap.copyWithin(ca.page * 4096, cb.page * 4096, (cb.page + pages) * 4096)
    swap.set(runA, cb.page * 4096)
    const c = await Cartridge.fromStore(new MemoryPageStore(swap), { passphrase })
    for (const p of ['/a.bin', '/b.bin']) await expect(c.read(p)).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED', path: p })
    expect((await c.check({ data: true })).ok).toBe(false)
    await c.close()
  })

  it('enableEncryption rewrites a plain container sealed, snapshots and all; changeKey and rekey; abort changes nothing', async () => {
    const tmp = tempDir()
    try {
      const path = tmp.path('conv.cart')
      const cart = await Cartridge.create('conv', 'Conversion', { path, compression: { codec: 'zstd' } })
      const files = sampleFiles()
      await fill(cart, files)
      const snap = await cart.createSnapshot('before')
      await cart.write('/secret/alpha-plans.txt', text(9000, 11))
      await cart.delete('/media/charlie-photo.bin')
      if (withSqlite) {
        const db = cart.sqlite('/app.db')
        db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('juliet-lima')")
        db.close()
      } else await cart.write('/app.db', 'juliet-lima')
      // An abort leaves the container as it was, and no copy behind.
      const ac = new AbortController()
      ac.abort()
      await expect(cart.enableEncryption(enc, { signal: ac.signal })).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
      expect((await cart.info()).encryption).toBeUndefined()
      const fs = await import('node:fs')
      expect(fs.existsSync(`${path}.reseal`)).toBe(false)
      const seen: number[] = []
      await cart.enableEncryption(enc, { onProgress: (p) => seen.push(p.bytesDone) })
      expect(seen.length).toBeGreaterThan(0)
      expect((await cart.info()).encryption).toEqual({ cipher: 'aes-256-gcm', keyFrom: 'passphrase' })
      // The same object goes on working on the new file.
      await cart.write('/after.txt', 'written after the conversion')
      const snaps = await cart.listSnapshots()
      expect(snaps.map((s) => [s.id, s.name, s.created.getTime()])).toEqual([[snap.id, 'before', snap.created.getTime()]])
      for (const [p, d] of files) expect(same(await cart.snapshot('before').read(p), d), p).toBe(true)
      expect((await cart.check({ data: true })).ok).toBe(true)
      await cart.close()
      const raw = fs.readFileSync(path)
      for (const needle of ['alpha-plans', 'juliet-lima', 'Conversion', 'written after']) expect(raw.includes(needle), needle).toBe(false)
      await expect(Cartridge.open(path)).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      const again = await Cartridge.open(path, { passphrase })
      if (withSqlite) expect((again.sqlite('/app.db').prepare('SELECT x FROM t').get() as { x: string }).x).toBe('juliet-lima')
      else expect(await again.readText('/app.db')).toBe('juliet-lima')
      await again.changeKey({ passphrase: 'new passphrase', scrypt: FAST })
      await again.close()
      await expect(Cartridge.open(path, { passphrase })).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
      const third = await Cartridge.open(path, { passphrase: 'new passphrase' })
      const before = fs.readFileSync(path)
      await third.rekey()
      expect(same(await third.read('/after.txt'), new TextEncoder().encode('written after the conversion'))).toBe(true)
      await third.close()
      const after = fs.readFileSync(path)
      // A fresh data key: no sealed page is the same as before (the header's wrap changed too).
      expect(before.subarray(4096 * 2, 4096 * 3).equals(after.subarray(4096 * 2, 4096 * 3))).toBe(false)
      const fourth = await Cartridge.open(path, { passphrase: 'new passphrase' })
      for (const [p, d] of files) expect(same(await fourth.snapshot('before').read(p), d), p).toBe(true)
      expect((await fourth.check({ data: true })).ok).toBe(true)
      await expect(fourth.enableEncryption(enc)).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      await fourth.close()
    } finally {
      tmp.cleanup()
    }
  })

  it('@noble/ciphers writes and reads the same container bytes as node:crypto', async () => {
    const { NobleAead, NodeAead } = await import('./index.js')
    for (const [writer, reader] of [[new NobleAead(), new NodeAead()], [new NodeAead(), new NobleAead()]]) {
      const store = new MemoryPageStore()
      const cart = await Cartridge.fromStore(store, { create: { slug: 'x' }, encryption: enc, compression: { codec: 'lz4' }, aead: writer })
      const files = sampleFiles()
      await fill(cart, files)
      await cart.createSnapshot('s')
      await cart.close()
      const other = await Cartridge.fromStore(new MemoryPageStore(store.snapshot()), { passphrase, aead: reader })
      for (const [p, d] of files) expect(same(await other.read(p), d), `${writer.name} → ${reader.name} ${p}`).toBe(true)
      expect((await other.check({ data: true })).ok).toBe(true)
      await other.write('/more', text(90_000))
      await other.close()
    }
  })

  it('the default scrypt cost is used when none is given', async () => {
    const store = new MemoryPageStore()
    const started = Date.now()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'slow' }, encryption: { passphrase: 'x' } })
    await cart.write('/f', randomBytes(100))
    await cart.close()
    const header = Buffer.from(store.snapshot().subarray(0, 128))
    expect(header[17]).toBe(1) // scrypt
    expect(header[18]).toBe(17) // N = 2^17
    expect(Date.now() - started).toBeGreaterThan(50)
    const again = await Cartridge.fromStore(new MemoryPageStore(store.snapshot()), { passphrase: 'x' })
    expect((await again.read('/f')).length).toBe(100)
    await again.close()
  })
})
