import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createCodec, type CodecName } from '@cartridge/codec'
import { seededBytes, seededRandom } from '@cartridge/core'
import { InlineSealer, WorkerSealer } from './block-pool.js'
import { InlineChecker, WorkerChecker } from './block-check.js'
import { HEADER_SIZE, decodeHeader, decodeIndex, decodePage } from './engram-format.js'
import { Engram, generateSigningKey, writeEngram, type EngramSourceFile } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'engram-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Blocks of every kind a freeze meets: text, noise, runs of one byte, empty-ish, full 64 KiB. */
function mixedBlock(rand: () => number, i: number): Uint8Array {
  const n = i % 7 === 0 ? 65_536 : 1 + Math.floor(rand() * 65_536)
  const kind = i % 3
  if (kind === 0) return seededBytes(n, i)
  if (kind === 1) return new Uint8Array(n).fill(i & 0xff)
  const s = Array.from({ length: Math.ceil(n / 12) }, (_, k) => `row ${(k * 31 + i) % 977};`).join('')
  return new TextEncoder().encode(s).subarray(0, n)
}

function batchOf(blocks: Uint8Array[]): { data: Uint8Array; lengths: number[] } {
  const data = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0) + 1000) // spare bytes past the blocks are ignored
  let at = 0
  for (const b of blocks) {
    data.set(b, at)
    at += b.length
  }
  return { data, lengths: blocks.map((b) => b.length) }
}

describe('sealing blocks on worker threads', () => {
  for (const [name, level] of [['zstd', 3], ['zstd', 9], ['lz4', undefined]] as [CodecName, number | undefined][]) {
    it(`gives exactly the blocks the calling thread gives (${name}${level ? ` ${level}` : ''}), batch after batch, in order`, async () => {
      const pool = await WorkerSealer.start(name, level, 2)
      expect(pool).toBeDefined()
      const inline = new InlineSealer(createCodec(name, level === undefined ? {} : { level }))
      const rand = seededRandom(level ?? 4)
      try {
        const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 1 + (b % 5) * 4 }, (_, i) => mixedBlock(rand, b * 100 + i)))
        // All handed in at once: the answers must still match their batches.
        const fromPool = await Promise.all(batches.map((blocks) => { const { data, lengths } = batchOf(blocks); return pool!.seal(data, lengths) }))
        for (const [b, blocks] of batches.entries()) {
          const { data, lengths } = batchOf(blocks)
          const want = await inline.seal(data, lengths)
          expect(fromPool[b].blocks.length).toBe(blocks.length)
          for (const [i, w] of want.blocks.entries()) {
            const got = fromPool[b].blocks[i]
            expect([got.codec, Buffer.from(got.sha256).toString('hex')]).toEqual([w.codec, Buffer.from(w.sha256).toString('hex')])
            expect(Buffer.from(got.stored).equals(Buffer.from(w.stored))).toBe(true)
            const back = w.codec !== 0 ? createCodec(name)!.decompress(got.stored, blocks[i].length) : got.stored
            expect(Buffer.from(back).equals(Buffer.from(blocks[i]))).toBe(true)
          }
        }
      } finally {
        await pool!.close()
      }
    })
  }

  it('a closed pool refuses more work with a coded error', async () => {
    const pool = (await WorkerSealer.start('zstd', undefined, 1))!
    await pool.close()
    await expect(pool.seal(new Uint8Array(10), [10])).rejects.toMatchObject({ code: 'CARTRIDGE_IO' })
  })
})

/** About 12 MiB in 700 files: enough for a freeze to use its workers. */
function corpus(): Map<string, Uint8Array> {
  const rand = seededRandom(99)
  const files = new Map<string, Uint8Array>()
  let total = 0
  for (let i = 0; total < 12 * 2 ** 20; i++) {
    const big = i % 50 === 0
    const b = big ? new Uint8Array(700_000 + i).map((_, k) => (k * 13 + i) % 251 < 200 ? 65 + (k % 26) : k & 0xff) : mixedBlock(rand, i)
    files.set(`/d${String(i % 17).padStart(2, '0')}/f${String(i).padStart(5, '0')}${big ? '.big' : ''}`, b)
    total += b.length
  }
  return files
}

const manifest = { slug: 'pool', title: 'Pool', created: new Date(0).toISOString() }
const totalOf = (files: Map<string, Uint8Array>) => [...files.values()].reduce((n, f) => n + f.length, 0)

function source(files: Map<string, Uint8Array>, onPiece?: () => void): AsyncIterable<EngramSourceFile> {
  const sorted = [...files].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  return (async function* () {
    for (const [path, data] of sorted) {
      yield {
        path, size: data.length, created: 1, modified: 2,
        chunks: async function* () {
          for (let off = 0; off < data.length || off === 0; off += 100_000) {
            onPiece?.()
            yield data.subarray(off, off + 100_000)
            if (data.length === 0) break
          }
        },
      }
    }
  })()
}

describe('freezing with worker threads', () => {
  it('threads 2 and threads 1 write the same blocks; both verify and read back byte-identical', async () => {
    const files = corpus()
    const { secretKey, publicKey } = await generateSigningKey()
    const a = join(dir, 'threads-2.eng')
    const b = join(dir, 'threads-1.eng')
    const total = totalOf(files)
    await writeEngram(a, source(files), { secretKey, manifest, compression: 'zstd', threads: 2, totalBytes: total })
    await writeEngram(b, source(files), { secretKey, manifest, compression: 'zstd', threads: 1, totalBytes: total })
    expect(statSync(a).size).toBe(statSync(b).size)
    for (const f of [a, b]) {
      const report = await Engram.verify(f, publicKey)
      expect(report).toMatchObject({ valid: true, files: files.size })
    }
    const ea = await Engram.open(a, { publicKey })
    const eb = await Engram.open(b, { publicKey })
    try {
      for (const [path, data] of files) {
        const got = await ea.read(path)
        expect(got.length).toBe(data.length)
        expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true)
        expect(await ea.stat(path)).toEqual(await eb.stat(path))
      }
    } finally {
      await ea.close()
      await eb.close()
    }
  })

  it('an abort while workers are busy leaves nothing behind', async () => {
    const files = corpus()
    const { secretKey } = await generateSigningKey()
    const out = join(dir, 'aborted.eng')
    const ac = new AbortController()
    let pieces = 0
    const total = totalOf(files)
    await expect(writeEngram(out, source(files, () => { if (++pieces === 100) ac.abort() }), { secretKey, manifest, threads: 2, signal: ac.signal, totalBytes: total }))
      .rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(dir).filter((n) => n.includes('aborted'))).toEqual([])
  })

  it('refuses a thread count that is not a positive integer', async () => {
    const { secretKey } = await generateSigningKey()
    for (const threads of [0, -1, 1.5]) {
      await expect(writeEngram(join(dir, 'bad.eng'), source(new Map()), { secretKey, manifest, threads })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    }
  })
})

describe('verifying with worker threads', () => {
  it('each flipped byte of the data region of a 12 MiB engram is found, at the block that holds it; the same blocks fail on this thread', async () => {
    const files = corpus()
    const { secretKey, publicKey } = await generateSigningKey()
    const file = join(dir, 'checked.eng')
    // Uncompressed, so the data region passes the 8 MiB from which verify checks on worker threads.
    await writeEngram(file, source(files), { secretKey, manifest, compression: 'none', totalBytes: totalOf(files) })
    expect(statSync(file).size).toBeGreaterThan(8 * 2 ** 20)
    expect(await Engram.verify(file, publicKey)).toMatchObject({ valid: true, files: files.size })
    const original = readFileSync(file)
    const header = decodeHeader(original.subarray(0, HEADER_SIZE), original.length)
    const pages = decodeIndex(original.subarray(header.indexOffset, header.indexOffset + header.indexLength))
    const blocks = pages.flatMap((ref) => decodePage(original.subarray(ref.offset, ref.offset + ref.length)))
      .flatMap((e) => e.blocks.map((b, bi) => ({ path: e.path, bi, ...b })))
    expect(blocks.length).toBeGreaterThan(200)
    const dataStart = Math.min(...blocks.map((b) => b.offset))
    const dataEnd = Math.max(...blocks.map((b) => b.offset + b.stored))
    const rand = seededRandom(5)
    const inline = new InlineChecker()
    for (let k = 0; k < 24; k++) {
      const at = dataStart + Math.floor(rand() * (dataEnd - dataStart))
      const damaged = Buffer.from(original)
      damaged[at] ^= 1 << (k % 8)
      writeFileSync(file, damaged)
      const report = await Engram.verify(file, publicKey)
      const hit = blocks.find((b) => at >= b.offset && at < b.offset + b.stored)!
      expect(report.valid).toBe(false)
      expect(report.problems).toEqual([{ path: hit.path, offset: hit.offset, what: `block ${hit.bi} does not match its hash` }])
      const problems = await inline.check(damaged.subarray(hit.offset, hit.offset + hit.stored), [{ start: 0, stored: hit.stored, logical: hit.logical, codec: hit.codec, sha256: hit.sha256 }])
      expect(problems).toEqual([{ index: 0, what: 'does not match its hash' }])
    }
    writeFileSync(file, original)
    expect((await Engram.verify(file, publicKey)).valid).toBe(true)
  })

  it('worker and inline checkers agree on good, damaged and undecodable blocks', async () => {
    const pool = (await WorkerChecker.start(2))!
    expect(pool).toBeDefined()
    try {
      const zstd = createCodec('zstd')!
      const rand = seededRandom(11)
      const raw = Array.from({ length: 30 }, (_, i) => mixedBlock(rand, i))
      const items: { stored: Uint8Array; logical: number; codec: number; sha256: Uint8Array }[] = raw.map((b) => {
        const packed = zstd.compress(b)?.slice()
        const stored = packed ?? b
        return { stored, logical: b.length, codec: packed ? zstd.id : 0, sha256: new Uint8Array(createHash('sha256').update(stored).digest()) }
      })
      // Damage some: a wrong hash, a stored length that lies about the logical one, garbage that hashes right but does not decode.
      items[3] = { ...items[3], sha256: new Uint8Array(32) }
      const garbage = seededBytes(500, 7)
      items[7] = { stored: garbage, logical: 4096, codec: zstd.id, sha256: new Uint8Array(createHash('sha256').update(garbage).digest()) }
      const rawOne = items.findIndex((x) => x.codec === 0)
      items[rawOne] = { ...items[rawOne], logical: items[rawOne].logical + 1 }
      const all = new Uint8Array(items.reduce((n, x) => n + x.stored.length, 0))
      let at = 0
      const blocks = items.map((x) => {
        all.set(x.stored, at)
        at += x.stored.length
        return { start: at - x.stored.length, stored: x.stored.length, logical: x.logical, codec: x.codec, sha256: x.sha256 }
      })
      const want = await new InlineChecker().check(all, blocks)
      expect(want.map((p) => p.index).sort((a, b) => a - b)).toEqual([3, 7, rawOne].sort((a, b) => a - b))
      expect(await pool.check(all.slice(), blocks)).toEqual(want)
    } finally {
      await pool.close()
    }
  })
})

