import { existsSync, statSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge, CartridgeBuilder, MemoryPageStore, LruCache } from './index.js'
import { bytes, sameBytes, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
let n = 0
const fresh = (opts = {}) => Cartridge.create(`c${n++}`, 'Test', { path: tmp.path(`c${n}.cart`), ...opts })

describe('Cartridge basics', () => {
  it('creates a 12,288-byte file with slug and title, and refuses to create it twice', async () => {
    const path = tmp.path('notes.cart')
    const cart = await Cartridge.create('notes', 'My Notes', { path })
    expect(statSync(path).size).toBe(12288)
    expect(cart.slug()).toBe('notes')
    expect(cart.title()).toBe('My Notes')
    await cart.close()
    await expect(Cartridge.create('notes', 'again', { path })).rejects.toMatchObject({ code: 'CARTRIDGE_EXISTS' })
    const again = await Cartridge.open(path)
    expect(again.title()).toBe('My Notes')
    await again.close()
  })

  it('create() defaults to ./<slug>.cart and validates the slug', async () => {
    const cwd = process.cwd()
    process.chdir(tmp.dir)
    try {
      const cart = await Cartridge.create('my-notes')
      await cart.close()
      expect(existsSync(tmp.path('my-notes.cart'))).toBe(true)
    } finally {
      process.chdir(cwd)
    }
    for (const bad of ['', 'Caps', 'a--b', '-a', 'a-', 'a b', 'a/b', 'x'.repeat(215)]) {
      await expect(Cartridge.create(bad, 't', { path: tmp.path('bad.cart') })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    }
    expect(existsSync(tmp.path('bad.cart'))).toBe(false)
  })

  it('round-trips writes, overwrites, deletes and renames across close and reopen', async () => {
    const cart = await fresh()
    const path = cart.path!
    await cart.write('/readme.txt', 'Hello, Cartridge!')
    await cart.write('/docs/guide.md', bytes(100_000, 1))
    await cart.write('/docs/big.bin', bytes(700_000, 2))
    await cart.write('/tmp/x', 'x')
    await cart.write('/readme.txt', 'Hello again')
    await cart.delete('/tmp/x')
    await cart.rename('/docs/guide.md', '/docs/guide-v2.md')
    await cart.close()
    await expect(cart.read('/readme.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_CLOSED' })

    const re = await Cartridge.open(path)
    expect(new TextDecoder().decode(await re.read('/readme.txt'))).toBe('Hello again')
    expect(sameBytes(await re.read('/docs/guide-v2.md'), bytes(100_000, 1))).toBe(true)
    expect(sameBytes(await re.read('/docs/big.bin'), bytes(700_000, 2))).toBe(true)
    expect(await re.exists('/docs/guide.md')).toBe(false)
    expect(await re.exists('/tmp/x')).toBe(false)
    expect(await re.list('/')).toEqual(['/docs/big.bin', '/docs/guide-v2.md', '/readme.txt'])
    expect((await re.check({ data: true })).problems).toEqual([])
    await re.close()
  })

  it('rename replaces a file at the target unless overwrite is false', async () => {
    const cart = await Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 'mv' } })
    await cart.write('/a', 'A')
    await cart.write('/b', 'B')
    await expect(cart.rename('/a', '/b', { overwrite: false })).rejects.toMatchObject({ code: 'CARTRIDGE_EXISTS', path: '/b' })
    expect(await cart.readText('/b')).toBe('B')
    await cart.rename('/a', '/b')
    expect(await cart.readText('/b')).toBe('A')
    expect(await cart.exists('/a')).toBe(false)
    await cart.close()
  })

  it('reads ranges, clamped to the file', async () => {
    const cart = await fresh()
    const data = bytes(300_000, 3)
    await cart.write('/f', data)
    expect(sameBytes(await cart.read('/f', { offset: 65_530, length: 20 }), data.subarray(65_530, 65_550))).toBe(true)
    expect(sameBytes(await cart.read('/f', { offset: 299_990 }), data.subarray(299_990))).toBe(true)
    expect((await cart.read('/f', { offset: 400_000 })).length).toBe(0)
    await cart.write('/small', 'abcdef')
    expect(new TextDecoder().decode(await cart.read('/small', { offset: 2, length: 3 }))).toBe('cde')
    await expect(cart.read('/f', { offset: -1 })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    await cart.close()
  })

  it('normalizes paths once and rejects bad ones', async () => {
    const cart = await fresh()
    await cart.write('/a/./b//../c', 'x')
    expect(await cart.list('/')).toEqual(['/a/c'])
    expect(await cart.exists('a/c')).toBe(true)
    for (const bad of ['', '/..', '/a/../../b', 'a\0b', '/']) {
      await expect(cart.write(bad, 'x')).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_PATH' })
    }
    await cart.close()
  })

  it('keeps files and directories apart', async () => {
    const cart = await fresh()
    await cart.write('/a/b', 'x')
    await expect(cart.write('/a', 'y')).rejects.toMatchObject({ code: 'CARTRIDGE_IS_A_DIRECTORY' })
    await expect(cart.write('/a/b/c', 'y')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_A_DIRECTORY' })
    await expect(cart.read('/a')).rejects.toMatchObject({ code: 'CARTRIDGE_IS_A_DIRECTORY' })
    await expect(cart.read('/nope')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND', path: '/nope' })
    await expect(cart.delete('/nope')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await cart.close()
  })

  it('lists recursively, reads directories, scans, and deletes subtrees', async () => {
    const cart = await fresh()
    const files = ['/a/1', '/a/2', '/a/sub/3', '/a/sub/deeper/4', '/b', '/c/5', '/a.txt']
    await Promise.all(files.map((f, i) => cart.write(f, `file ${i}`)))
    expect(await cart.list('/a')).toEqual(['/a/1', '/a/2', '/a/sub/3', '/a/sub/deeper/4'])
    expect(await cart.list('/b')).toEqual(['/b'])
    expect(await cart.readdir('/')).toEqual([
      { name: 'a', kind: 'dir' }, { name: 'a.txt', kind: 'file' }, { name: 'b', kind: 'file' }, { name: 'c', kind: 'dir' },
    ])
    expect(await cart.readdir('/a')).toEqual([{ name: '1', kind: 'file' }, { name: '2', kind: 'file' }, { name: 'sub', kind: 'dir' }])
    const scanned: string[] = []
    for await (const p of cart.scan('/', { batchSize: 2 })) scanned.push(p)
    expect(scanned).toEqual([...files].sort())
    await cart.delete('/a/')
    expect(await cart.list('/')).toEqual(['/a.txt', '/b', '/c/5'])
    await expect(cart.delete('/a/')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await cart.rename('/c', '/d')
    expect(await cart.list('/')).toEqual(['/a.txt', '/b', '/d/5'])
    expect((await cart.check()).ok).toBe(true)
    await cart.close()
  })

  it('reports metadata and info', async () => {
    const cart = await fresh()
    const before = Date.now()
    await cart.write('/m', bytes(5000, 4))
    const m = await cart.metadata('/m')
    expect(m.size).toBe(5000)
    expect(m.created.getTime()).toBeGreaterThanOrEqual(before)
    await cart.write('/m', 'shorter')
    const m2 = await cart.metadata('/m')
    expect(m2.size).toBe(7)
    expect(m2.created.getTime()).toBe(m.created.getTime())
    expect(m2.modified.getTime()).toBeGreaterThanOrEqual(m.modified.getTime())
    const info = await cart.info()
    expect(info.fileCount).toBe(1)
    expect(info.sizeBytes).toBe(info.totalBlocks * 4096)
    expect(info.freeBlocks).toBeLessThan(info.totalBlocks)
    await cart.close()
  })

  it('transactions are all or nothing', async () => {
    const cart = await fresh()
    await cart.write('/keep', 'v1')
    await expect(
      cart.transaction(async (tx) => {
        await tx.write('/keep', 'v2')
        await tx.write('/new', 'n')
        expect(new TextDecoder().decode(await tx.read('/keep'))).toBe('v2')
        expect(new TextDecoder().decode(await cart.read('/keep'))).toBe('v1')
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await cart.list('/')).toEqual(['/keep'])
    expect(new TextDecoder().decode(await cart.read('/keep'))).toBe('v1')
    await cart.transaction(async (tx) => {
      await tx.write('/t1', 'a')
      await expect(tx.read('/missing')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
      await tx.write('/t2', 'b')
      await tx.delete('/keep')
    })
    expect(await cart.list('/')).toEqual(['/t1', '/t2'])
    expect((await cart.check()).ok).toBe(true)
    await cart.close()
  })

  it('concurrent writes share commits and all land', async () => {
    const cart = await fresh()
    const before = (await cart.info()).txn
    await Promise.all(Array.from({ length: 50 }, (_, i) => cart.write(`/p/${i}`, bytes(1000 + i, i))))
    const after = (await cart.info()).txn
    expect(after - before).toBeLessThan(5)
    expect((await cart.list('/p')).length).toBe(50)
    await cart.close()
  })

  it('a failed operation in a shared commit fails alone', async () => {
    const cart = await fresh()
    const results = await Promise.allSettled([cart.write('/ok1', 'a'), cart.delete('/missing'), cart.write('/ok2', 'b')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(await cart.list('/')).toEqual(['/ok1', '/ok2'])
    await cart.close()
  })

  it('streams large files in and out with bounded buffers', async () => {
    const cart = await fresh()
    const data = bytes(3_000_000, 9)
    const ws = cart.createWriteStream('/stream.bin')
    for (let off = 0; off < data.length; off += 100_000) {
      if (!ws.write(data.subarray(off, off + 100_000))) await new Promise((r) => ws.once('drain', r))
    }
    await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())))
    expect(sameBytes(await cart.read('/stream.bin'), data)).toBe(true)
    const parts: Uint8Array[] = []
    for await (const part of cart.createReadStream('/stream.bin')) {
      expect(part.length).toBeLessThanOrEqual(65536)
      parts.push(part)
    }
    expect(sameBytes(Buffer.concat(parts), data)).toBe(true)
    const ranged: Uint8Array[] = []
    for await (const part of cart.createReadStream('/stream.bin', { start: 10, end: 19 })) ranged.push(part)
    expect(sameBytes(Buffer.concat(ranged), data.subarray(10, 20))).toBe(true)
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.close()
  })

  it('read streams: any start and end, pieces never across a 64 KiB boundary; a file replaced mid-stream fails with CARTRIDGE_CONFLICT', async () => {
    const cart = await fresh()
    const data = bytes(5_000_000, 3)
    await cart.write('/s.bin', data)
    for (const [start, end] of [[0, undefined], [1, 65_536], [65_535, 65_536], [100_000, 3_000_000], [1_048_575, 4_999_999], [4_999_999, undefined]] as [number, number | undefined][]) {
      const parts: Uint8Array[] = []
      let pos = start
      for await (const part of cart.createReadStream('/s.bin', { start, end })) {
        expect(part.length).toBeGreaterThan(0)
        expect(Math.floor(pos / 65_536)).toBe(Math.floor((pos + part.length - 1) / 65_536))
        pos += part.length
        parts.push(part)
      }
      expect(sameBytes(Buffer.concat(parts), data.subarray(start, end === undefined ? undefined : end + 1))).toBe(true)
    }
    const stream = cart.createReadStream('/s.bin')
    const seen: Uint8Array[] = []
    await expect((async () => {
      for await (const part of stream) {
        seen.push(part)
        if (seen.length === 20) await cart.write('/s.bin', bytes(5_000_000, 4))
      }
    })()).rejects.toMatchObject({ code: 'CARTRIDGE_CONFLICT' })
    // What was handed on before the change is the old content.
    expect(sameBytes(Buffer.concat(seen), data.subarray(0, Buffer.concat(seen).length))).toBe(true)
    await cart.close()
  })

  it('a destroyed write stream changes nothing and gives its space back', async () => {
    const cart = await fresh()
    await cart.write('/x', 'x')
    const ws = cart.createWriteStream('/partial.bin')
    ws.write(bytes(500_000, 1))
    await new Promise((r) => setImmediate(r))
    ws.destroy()
    await new Promise((r) => ws.once('close', r))
    expect(await cart.list('/')).toEqual(['/x'])
    expect((await cart.check()).ok).toBe(true)
    await cart.close()
  })

  it('builder settings, LRU cache and a memory store work', async () => {
    const cart = await new CartridgeBuilder()
      .slug('built').title('Built').path(tmp.path('built.cart')).initialBlocks(16).growthThresholdPercent(20).maxBlocks(4096)
      .bufferPoolSize(64).cache((cap) => new LruCache(cap)).build()
    expect((await cart.info()).totalBlocks).toBe(16)
    await cart.write('/f', bytes(10_000, 1))
    expect(sameBytes(await cart.read('/f'), bytes(10_000, 1))).toBe(true)
    await cart.close()
    const mem = await Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 'mem' } })
    await mem.write('/m', 'memory')
    expect(await mem.list('/')).toEqual(['/m'])
    await mem.close()
  })

  it('read-only open refuses writes and takes no lock', async () => {
    const cart = await fresh()
    await cart.write('/f', 'data')
    const ro = await Cartridge.open(cart.path!, { readOnly: true })
    expect(new TextDecoder().decode(await ro.read('/f'))).toBe('data')
    await expect(ro.write('/g', 'x')).rejects.toMatchObject({ code: 'CARTRIDGE_READ_ONLY' })
    await ro.close()
    await cart.close()
  })

  it('a second writer is refused with CARTRIDGE_LOCKED; await using closes', async () => {
    const path = tmp.path('locked.cart')
    {
      await using cart = await Cartridge.create('locked', 'L', { path })
      await expect(Cartridge.open(path)).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED' })
      await cart.write('/f', 'x')
    }
    const again = await Cartridge.open(path)
    expect(await again.list('/')).toEqual(['/f'])
    await again.close()
  })
})

describe('abort signals', () => {
  it('scan stops with CARTRIDGE_ABORTED', async () => {
    const cart = await fresh()
    await Promise.all(Array.from({ length: 10 }, (_, i) => cart.write(`/s/${i}`, 'x')))
    const ac = new AbortController()
    const seen: string[] = []
    await expect(
      (async () => {
        for await (const p of cart.scan('/', { batchSize: 3, signal: ac.signal })) {
          seen.push(p)
          if (seen.length === 3) ac.abort()
        }
      })(),
    ).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
    expect(seen.length).toBe(3)
    await cart.close()
  })
})
