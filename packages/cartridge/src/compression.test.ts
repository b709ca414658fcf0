import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MemoryPageStore } from '@cartridge/pager'
import { Cartridge, CartridgeBuilder } from './index.js'
import { Engine, buildChunkMap, chunksOf, RecordKind, decodeFileRecord, encodeFileRecord } from '@cartridge/engine'
import { bytes, tempDir } from './testing/helpers.js'

// CARTRIDGE_SKIP_SQLITE: scripts/node-versions.sh runs this file under a Node the workspace's better-sqlite3 was not built for.
const withSqlite = process.env.CARTRIDGE_SKIP_SQLITE !== '1'

const CODECS = [{ codec: 'lz4' }, { codec: 'zstd' }, { codec: 'zstd', level: 19 }] as const

/** Text that compresses about 3–5× (lines with numbers). */
function text(size: number, seed = 1): Uint8Array {
  let s = ''
  for (let i = 0; s.length < size; i++) s += `row ${(i * 7919 + seed) % 100_003}, value ${(i * 31) % 977}, ok\n`
  return new TextEncoder().encode(s.slice(0, size))
}

const mem = (compression?: { codec: 'lz4' | 'zstd' | 'none'; level?: number }) =>
  Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 'z' }, compression })

describe('compression', () => {
  for (const setting of CODECS) {
    const label = `${setting.codec}${'level' in setting ? ` ${setting.level}` : ''}`
    it(`${label}: files of every size round-trip, whole, by range across chunk edges, and by stream`, async () => {
      const cart = await mem(setting)
      const sizes = [0, 1, 512, 513, 65_535, 65_536, 65_537, 200_000, 3_000_000]
      const files = new Map<string, Uint8Array>()
      for (const [i, size] of sizes.entries()) files.set(`/t${i}`, i % 2 ? text(size, i) : bytes(size, i))
      await Promise.all([...files].map(([p, d]) => cart.write(p, d)))
      for (const [p, d] of files) expect(Buffer.from(await cart.read(p)).equals(Buffer.from(d)), p).toBe(true)
      const big = files.get('/t8')!
      for (const [offset, length] of [[65_530, 20], [0, 65_536], [65_536, 65_536], [131_000, 600_000], [2_999_990, 100], [123_457, 1]]) {
        const got = await cart.read('/t8', { offset, length })
        expect(Buffer.from(got).equals(Buffer.from(big.subarray(offset, offset + length))), `${offset}+${length}`).toBe(true)
      }
      const ws = cart.createWriteStream('/streamed')
      for (let off = 0; off < big.length; off += 70_001) ws.write(big.subarray(off, off + 70_001))
      await new Promise((resolve, reject) => ws.end(resolve).on('error', reject))
      expect(Buffer.from(await cart.read('/streamed')).equals(Buffer.from(big))).toBe(true)
      const parts: Buffer[] = []
      for await (const piece of cart.createReadStream('/streamed', { start: 100_000, end: 1_000_000 })) parts.push(piece as Buffer)
      expect(Buffer.concat(parts).equals(Buffer.from(big.subarray(100_000, 1_000_001)))).toBe(true)
      const stats = await cart.contentStats()
      expect(stats.compressedChunks).toBeGreaterThan(20)
      expect(stats.chunks).toBeGreaterThan(stats.compressedChunks) // the noise stretches stayed raw
      expect((await cart.check({ data: true })).ok).toBe(true)
      expect((await cart.info()).compression).toEqual({ codec: setting.codec, level: setting.codec === 'zstd' ? ('level' in setting ? setting.level : 3) : 0 })
      await cart.close()
    })
  }

  it('1 MiB of one repeated byte takes one content page (Zstd) or two (LZ4); noise is stored raw and grows by nothing', async () => {
    for (const [codec, pages] of [['lz4', 2], ['zstd', 1]] as const) {
      const cart = await mem({ codec })
      await cart.write('/ones', new Uint8Array(1 << 20).fill(0x61))
      let stats = await cart.contentStats()
      // LZ4 cannot code a run in fewer than 1 byte per 255: 16 chunks of about 270 bytes.
      expect(stats.contentPages).toBe(pages)
      expect(stats.compressedChunks).toBe(16)
      await cart.write('/noise', randomBytes(1 << 20))
      await cart.delete('/ones')
      stats = await cart.contentStats()
      expect(stats).toMatchObject({ compressedChunks: 0, chunks: 16, storedBytes: 1 << 20, contentPages: 256 })
      await cart.close()
    }
  })

  it('the Zstd level is honoured: level 19 stores less than level 1', async () => {
    const sizes: number[] = []
    for (const level of [1, 19]) {
      const cart = await mem({ codec: 'zstd', level })
      await cart.write('/t', text(2_000_000))
      sizes.push((await cart.contentStats()).storedBytes)
      await cart.close()
    }
    expect(sizes[1]).toBeLessThan(sizes[0])
  })

  it('enableCompression on an open container: old content stays raw and readable, new writes compress, the setting survives reopening', async () => {
    const tmp = tempDir()
    try {
      const path = tmp.path('c.cart')
      const cart = await Cartridge.create('c', 'c', { path })
      const old = text(500_000)
      await cart.write('/old', old)
      await cart.enableCompression('zstd', { level: 5 })
      await cart.write('/new', old)
      await cart.write('/raw', old, { compression: 'none' })
      await cart.write('/fast', old, { compression: 'lz4' })
      await cart.close()
      const again = await Cartridge.open(path)
      expect((await again.info()).compression).toEqual({ codec: 'zstd', level: 5 })
      for (const p of ['/old', '/new', '/raw', '/fast']) expect(Buffer.from(await again.read(p)).equals(Buffer.from(old)), p).toBe(true)
      await again.write('/again', old)
      const stats = await again.contentStats()
      // /new, /fast and /again compressed; /old and /raw not.
      expect(stats.storedBytes).toBeLessThan(old.length * 2 + old.length)
      expect(stats.storedBytes).toBeGreaterThan(old.length * 2)
      await again.enableCompression('none')
      await again.write('/plain', old)
      expect((await again.info()).compression).toEqual({ codec: 'none', level: 0 })
      expect((await again.check({ data: true })).ok).toBe(true)
      await again.close()
      const ro = await Cartridge.open(path, { readOnly: true })
      expect(Buffer.from(await ro.read('/again')).equals(Buffer.from(old))).toBe(true)
      await ro.close()
    } finally {
      tmp.cleanup()
    }
  })

  it('recompress rewrites existing content with the codec, keeps times and bytes, and stops on its signal', async () => {
    const cart = await mem()
    const files = new Map<string, Uint8Array>()
    for (let i = 0; i < 6; i++) files.set(`/r/${i}`, i === 5 ? randomBytes(200_000) : text(100_000 + i * 90_000, i))
    files.set('/small', text(300))
    for (const [p, d] of files) await cart.write(p, d)
    const meta = await cart.metadata('/r/1')
    const before = await cart.contentStats()
    expect(before.compressedChunks).toBe(0)
    const seen: string[] = []
    const r = await cart.recompress({ codec: 'zstd', level: 9, onProgress: (p) => seen.push(p.path) })
    expect(r.files).toBe(6)
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore / 2)
    expect(seen).toEqual([...files.keys()].sort())
    const after = await cart.contentStats()
    expect(after.storedBytes).toBe(before.storedBytes - (r.bytesBefore - r.bytesAfter))
    for (const [p, d] of files) expect(Buffer.from(await cart.read(p)).equals(Buffer.from(d)), p).toBe(true)
    expect(await cart.metadata('/r/1')).toEqual(meta)
    expect((await cart.check({ data: true })).ok).toBe(true)
    const ac = new AbortController()
    const back = cart.recompress({ codec: 'none', signal: ac.signal, onProgress: (p) => p.done === 2 && ac.abort() })
    await expect(back).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
    for (const [p, d] of files) expect(Buffer.from(await cart.read(p)).equals(Buffer.from(d)), p).toBe(true)
    await cart.close()
  })

  it('the builder sets compression; bad settings are CARTRIDGE_INVALID_ARGUMENT and change nothing', async () => {
    const tmp = tempDir()
    try {
      const cart = await new CartridgeBuilder().slug('b').path(tmp.path('b.cart')).compression('zstd', { level: 3 }).build()
      expect((await cart.info()).compression).toEqual({ codec: 'zstd', level: 3 })
      await expect(cart.enableCompression('gzip' as never)).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      await expect(cart.enableCompression('zstd', { level: 99 })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      await expect(cart.enableCompression('lz4', { level: 2 })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      await expect(cart.write('/x', 'y', { compression: 'brotli' as never })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      expect((await cart.info()).compression).toEqual({ codec: 'zstd', level: 3 })
      await expect(Cartridge.create('bad', 'bad', { path: tmp.path('bad.cart'), compression: { codec: 'zstd', level: 0 } })).rejects.toMatchObject({
        code: 'CARTRIDGE_INVALID_ARGUMENT',
      })
      await cart.close()
    } finally {
      tmp.cleanup()
    }
  })

  it('snapshots, restore, vacuum and SQLite work on a compressing container; packed runs move whole', async () => {
    const cart = await mem({ codec: 'zstd' })
    const v1 = new Map<string, Uint8Array>()
    for (let i = 0; i < 12; i++) v1.set(`/d/f${i}`, i % 3 ? text(150_000 + i * 10_000, i) : bytes(180_000, i))
    await Promise.all([...v1].map(([p, d]) => cart.write(p, d)))
    await cart.createSnapshot('v1')
    for (let i = 0; i < 12; i += 2) await cart.delete(`/d/f${i}`)
    await cart.write('/d/f1', text(90_000, 99))
    const snap = cart.snapshot('v1')
    for (const [p, d] of v1) expect(Buffer.from(await snap.read(p)).equals(Buffer.from(d)), p).toBe(true)
    await cart.deleteSnapshot('v1')
    const live = new Map<string, Uint8Array>()
    for (const p of await cart.list('/')) live.set(p, await cart.read(p))
    const before = (await cart.info()).totalBlocks
    const result = await cart.vacuum()
    expect(result.movedPages).toBeGreaterThan(0)
    expect((await cart.info()).totalBlocks).toBeLessThan(before)
    for (const [p, d] of live) expect(Buffer.from(await cart.read(p)).equals(Buffer.from(d)), p).toBe(true)
    expect((await cart.check({ data: true })).ok).toBe(true)
    if (withSqlite) {
      const db = cart.sqlite('/app.db')
      db.exec('CREATE TABLE t (x TEXT)')
      db.prepare('INSERT INTO t VALUES (?)').run('hello')
      expect(db.prepare('SELECT x FROM t').get()).toEqual({ x: 'hello' })
    }
    await cart.close()
  })

  it('vacuum moves a packed run whole when a continuation lies in the head\'s last page (regression)', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'v' }, compression: { codec: 'zstd' } })
    // 70,000 bytes: chunk 0 compresses to ~35 KB (9 pages), chunk 1 to ~1.5 KB packed right after it.
    for (let i = 0; i < 24; i++) await cart.write(`/f/${i}`, bytes(50_000 + i * 1000, i))
    for (let i = 0; i < 6; i++) await cart.write(`/g/${i}`, bytes(70_000, 50 + i))
    for (let i = 0; i < 24; i++) await cart.delete(`/f/${i}`)
    const e = Engine.open(new MemoryPageStore(store.snapshot()))
    const g0 = chunksOf(e, decodeFileRecord(e.catalog.get('/g/0')!, '/g/0'))
    expect(g0[1].offset).toBe(g0[0].storedLength)
    expect(g0[1].offset + g0[1].storedLength).toBeLessThanOrEqual(g0[0].runPages * 4096)
    const result = await cart.vacuum({ stepPages: 8 })
    expect(result.movedPages).toBeGreaterThan(20)
    for (let i = 0; i < 6; i++) expect(Buffer.from(await cart.read(`/g/${i}`)).equals(Buffer.from(bytes(70_000, 50 + i)))).toBe(true)
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.close()
  })

  it('forged packing is found: a continuation outside its run is a check problem, a damaged packed run a checksum error', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'f' }, compression: { codec: 'lz4' } })
    const data = text(600_000)
    await cart.write('/f', data)
    await cart.close()
    const copy = new MemoryPageStore(store.snapshot())
    const e = Engine.open(copy)
    e.apply(() => {
      const r = decodeFileRecord(e.catalog.get('/f')!, '/f')
      const chunks = chunksOf(e, r)
      expect(chunks[1].offset).toBeGreaterThan(0)
      chunks[1] = { ...chunks[1], offset: chunks[1].offset + 200_000 }
      e.catalog.put('/f', encodeFileRecord(r.kind === RecordKind.DIRECT ? { ...r, chunks } : { ...r, map: buildChunkMap(e, chunks) }))
    })
    e.commit(true)
    e.commit(true)
    const forged = await Cartridge.fromStore(new MemoryPageStore(copy.snapshot()), {})
    const report = await forged.check()
    expect(report.problems.join('\n')).toMatch(/chunk 1 lies outside the run it continues/)
    await expect(forged.read('/f')).rejects.toMatchObject({ path: '/f' })
    await forged.close()
    // A flipped byte inside the packed run: CARTRIDGE_CHECKSUM naming the file, never other bytes.
    const image = store.snapshot()
    const e2 = Engine.open(new MemoryPageStore(image.slice()))
    const head = chunksOf(e2, decodeFileRecord(e2.catalog.get('/f')!, '/f'))[0]
    image[head.page * 4096 + 10] ^= 1
    const damaged = await Cartridge.fromStore(new MemoryPageStore(image), {})
    await expect(damaged.read('/f')).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', path: '/f' })
    await expect(damaged.read('/f', { offset: 500_000, length: 10 })).resolves.toEqual(data.subarray(500_000, 500_010))
    expect((await damaged.check({ data: true })).ok).toBe(false)
    await damaged.close()
  })
})
