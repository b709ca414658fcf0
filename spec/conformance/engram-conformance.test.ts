/**
 * Engram conformance: the independent engram reader (spec/conformance/engram-reader.ts, written
 * from spec/ENGRAM.md) and the reference (`Engram` of @cartridge/engram) must read every engram
 * vector in spec/vectors identically, refuse another key, and find every changed byte where
 * spec/ENGRAM.md §5–§6 say it is found: at open (header, index, manifest) or when the damaged
 * page or block is read.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { BytesRangeSource, Engram, generateSigningKey, parsePublicKey, writeEngram, type EngramSourceFile } from '@cartridge/engram'
import { ENGRAM_VECTOR_NAMES, bytes, publicKeyBytes, summary, text, type EngramExpected } from '../vectors/content.js'
import { keyIdOf, openEngram, verifyEngram, type OpenedEngram } from './engram-reader.js'
import { ReadError } from './reader.js'

const VECTORS = fileURLToPath(new URL('../vectors/', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'engram-conformance-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const imageOf = (name: string): Buffer => readFileSync(join(VECTORS, `${name}.eng`))
const expectedOf = (name: string): EngramExpected => JSON.parse(readFileSync(join(VECTORS, `${name}.expected.json`), 'utf8')) as EngramExpected
/** The reference error code of each kind of the independent reader. */
const CODE = { corrupt: 'CARTRIDGE_CORRUPT', auth: 'CARTRIDGE_AUTH_FAILED', unsupported: 'CARTRIDGE_UNSUPPORTED' } as Record<string, string>

/** What the independent reader throws, as the reference's code ('ok' when it does not throw). */
function ours(fn: () => unknown): string {
  try {
    fn()
    return 'ok'
  } catch (err) {
    return err instanceof ReadError ? CODE[err.kind] ?? err.kind : `not a ReadError: ${(err as Error).message}`
  }
}
/** What the reference throws ('ok' when it does not). */
async function theirs(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
    return 'ok'
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${(err as Error).message}`
  }
}

const refOpen = (image: Uint8Array, publicKey: Uint8Array) => Engram.open(new BytesRangeSource(image), { publicKey })
/** Every file through the reference: path → content, in its list order. */
async function refReadAll(image: Uint8Array, publicKey: Uint8Array): Promise<Map<string, Uint8Array>> {
  const eng = await refOpen(image, publicKey)
  const out = new Map<string, Uint8Array>()
  for (const p of await eng.list('/')) out.set(p, await eng.read(p))
  return out
}
/** Every file through the independent reader. */
function ourReadAll(image: Uint8Array, publicKey: Uint8Array): Map<string, Uint8Array> {
  const eng = openEngram(image, publicKey)
  return new Map(eng.files().map((p) => [p, eng.read(p)]))
}
const flipped = (image: Buffer, at: number, mask = 0x01): Buffer => {
  const copy = Buffer.from(image)
  copy[at] ^= mask
  return copy
}
const withoutFrozen = (m: OpenedEngram['manifest'] | Engram['manifest']) => {
  const { frozen, ...rest } = m
  expect(new Date(frozen).toISOString()).toBe(frozen)
  return rest
}

describe.each(ENGRAM_VECTOR_NAMES)('engram vector %s', (name) => {
  const image = imageOf(name)
  const expected = expectedOf(name)
  const publicKey = publicKeyBytes(expected.publicKey)

  it('the independent reader returns exactly the expected files, manifest and signer, and verifies it', () => {
    expect(keyIdOf(publicKey)).toBe(expected.keyId)
    const eng = openEngram(image, publicKey)
    expect(eng.header.publicKey.equals(publicKey)).toBe(true)
    expect(eng.files()).toEqual(expected.files.map((f) => f.path))
    expect(summary(eng.files().map((p) => [p, eng.read(p)]))).toEqual(expected.files)
    expect(withoutFrozen(eng.manifest)).toEqual(expected.manifest)
    expect([eng.header.fileCount, eng.header.totalBytes]).toEqual([expected.manifest.fileCount, expected.manifest.totalBytes])
    expect(verifyEngram(image, publicKey)).toEqual({ valid: true, problems: [] })
  })

  it('the reference returns the same files, manifest and signer, and verifies it', async () => {
    expect(parsePublicKey(expected.publicKey)).toEqual(publicKey)
    const eng = await Engram.open(join(VECTORS, `${name}.eng`), { publicKey })
    try {
      expect(eng.signer).toBe(expected.keyId)
      expect(withoutFrozen(eng.manifest)).toEqual(expected.manifest)
      const paths = await eng.list('/')
      expect(paths).toEqual(expected.files.map((f) => f.path))
      const files: Array<[string, Uint8Array]> = []
      for (const p of paths) files.push([p, await eng.read(p)])
      expect(summary(files)).toEqual(expected.files)
      expect(eng.manifest).toEqual(openEngram(image, publicKey).manifest) // frozen included
    } finally {
      await eng.close()
    }
    const report = await Engram.verify(join(VECTORS, `${name}.eng`), publicKey)
    expect([report.valid, report.problems, report.signer, report.files]).toEqual([true, [], expected.keyId, expected.files.length])
  })

  it('another public key: both readers refuse to open it (auth), both verifications fail', async () => {
    const other = (await generateSigningKey()).publicKey
    const oneBitOff = Uint8Array.from(publicKey, (x, i) => (i === 5 ? x ^ 0x10 : x))
    for (const key of [other, oneBitOff]) {
      expect(ours(() => openEngram(image, key))).toBe('CARTRIDGE_AUTH_FAILED')
      expect(await theirs(() => refOpen(image, key))).toBe('CARTRIDGE_AUTH_FAILED')
      expect(verifyEngram(image, key).valid).toBe(false)
      expect((await Engram.verify(new BytesRangeSource(image), key)).valid).toBe(false)
    }
    expect(ours(() => openEngram(image, publicKey.subarray(0, 31)))).toBe('CARTRIDGE_AUTH_FAILED')
  })

  it('every byte of the header, flipped (bit 0 and bit 7): both refuse to open, with the same kind; both verifications fail', async () => {
    const kinds = new Map<string, number>()
    for (let at = 0; at < 256; at++) {
      for (const mask of [0x01, 0x80]) {
        const bad = flipped(image, at, mask)
        const kind = ours(() => openEngram(bad, publicKey))
        expect(kind, `header byte ${at} ^ ${mask}`).not.toBe('ok')
        expect(await theirs(() => refOpen(bad, publicKey)), `header byte ${at} ^ ${mask}`).toBe(kind)
        expect(verifyEngram(bad, publicKey).valid).toBe(false)
        expect((await Engram.verify(new BytesRangeSource(bad), publicKey)).valid).toBe(false)
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
      }
    }
    // Layout fields and reserved bytes are malformed (corrupt), the major is unsupported, the rest fails the root or the signature.
    expect(new Set(kinds.keys())).toEqual(new Set(['CARTRIDGE_CORRUPT', 'CARTRIDGE_UNSUPPORTED', 'CARTRIDGE_AUTH_FAILED']))
    for (const [at, kind] of [[0, 'CORRUPT'], [9, 'UNSUPPORTED'], [10, 'AUTH_FAILED'], [16, 'CORRUPT'], [64, 'CORRUPT'], [72, 'AUTH_FAILED'], [80, 'AUTH_FAILED'],
      [88, 'AUTH_FAILED'], [120, 'AUTH_FAILED'], [152, 'AUTH_FAILED'], [215, 'AUTH_FAILED'], [216, 'CORRUPT'], [255, 'CORRUPT']] as const) {
      expect(ours(() => openEngram(flipped(image, at), publicKey)), `header byte ${at}`).toBe(`CARTRIDGE_${kind}`)
    }
  })

  it('a flipped byte in the index or the manifest: both refuse to open it (auth)', async () => {
    const h = openEngram(image, publicKey).header
    const manifestAt = h.indexOffset + h.indexLength
    for (const at of [h.indexOffset, h.indexOffset + 13, manifestAt - 1, manifestAt, manifestAt + 20, h.fileSize - 1]) {
      const bad = flipped(image, at)
      expect(ours(() => openEngram(bad, publicKey)), `byte ${at}`).toBe('CARTRIDGE_AUTH_FAILED')
      expect(await theirs(() => refOpen(bad, publicKey)), `byte ${at}`).toBe('CARTRIDGE_AUTH_FAILED')
      expect(verifyEngram(bad, publicKey).valid).toBe(false)
      expect((await Engram.verify(new BytesRangeSource(bad), publicKey)).valid).toBe(false)
    }
  })

  it('a flipped byte in the directory page: both open it, and both refuse every file of that page (auth)', async () => {
    const eng = openEngram(image, publicKey)
    expect(eng.pages.length).toBe(1) // every vector's directory is one page
    const page = eng.pages[0]
    for (const at of [page.offset, page.offset + 4, page.offset + Math.floor(page.length / 2), page.offset + page.length - 1]) {
      const bad = flipped(image, at)
      const mine = openEngram(bad, publicKey)
      const ref = await refOpen(bad, publicKey)
      expect(ours(() => mine.files())).toBe('CARTRIDGE_AUTH_FAILED')
      expect(await theirs(() => ref.list('/'))).toBe('CARTRIDGE_AUTH_FAILED')
      for (const f of expected.files) {
        expect(ours(() => mine.read(f.path)), f.path).toBe('CARTRIDGE_AUTH_FAILED')
        expect(await theirs(() => ref.read(f.path)), f.path).toBe('CARTRIDGE_AUTH_FAILED')
      }
      expect(verifyEngram(bad, publicKey).valid).toBe(false)
      expect((await Engram.verify(new BytesRangeSource(bad), publicKey)).valid).toBe(false)
    }
  })

  it('a flipped byte in a block (of every codec): both open it and read the other files; the damaged file is refused (auth)', async () => {
    const entries = openEngram(image, publicKey).entries()
    const codecs = new Set<number>()
    for (const e of entries) {
      for (const [i, k] of e.blocks.entries()) {
        if (i !== 0 && i !== e.blocks.length - 1) continue // first and last block of each file
        codecs.add(k.codec)
        const bad = flipped(image, k.offset + Math.floor(k.stored / 3), 0x20)
        const mine = openEngram(bad, publicKey)
        const ref = await refOpen(bad, publicKey)
        for (const f of expected.files) {
          const want = f.path === e.path ? 'CARTRIDGE_AUTH_FAILED' : 'ok'
          expect(ours(() => mine.read(f.path)), `${f.path} (${e.path} block ${i} damaged)`).toBe(want)
          expect(await theirs(() => ref.read(f.path)), `${f.path} (${e.path} block ${i} damaged)`).toBe(want)
        }
        const report = verifyEngram(bad, publicKey)
        expect(report.valid).toBe(false)
        expect(report.problems).toEqual([`auth: ${e.path}: block ${i} does not match its hash`])
        expect((await Engram.verify(new BytesRangeSource(bad), publicKey)).problems).toMatchObject([{ path: e.path }])
      }
    }
    expect(codecs.size).toBe(2) // raw and the vector's codec
  })

  it('truncated or extended: both refuse to open it (corrupt), both verifications fail', async () => {
    const h = openEngram(image, publicKey).header
    const cuts = [0, 1, 100, 255, 256, 257, h.dirOffset, h.indexOffset, h.indexOffset + h.indexLength, image.length - 1]
    const damaged = [...cuts.map((n) => image.subarray(0, n)), Buffer.concat([image, Buffer.alloc(1)]), Buffer.concat([image, Buffer.from('x'.repeat(4096))])]
    for (const bad of damaged) {
      expect(ours(() => openEngram(bad, publicKey)), `${bad.length} bytes`).toBe('CARTRIDGE_CORRUPT')
      expect(await theirs(() => refOpen(bad, publicKey)), `${bad.length} bytes`).toBe('CARTRIDGE_CORRUPT')
      expect(verifyEngram(bad, publicKey).valid).toBe(false)
      expect((await Engram.verify(new BytesRangeSource(bad), publicKey)).valid).toBe(false)
    }
  })
})

describe('the engram vectors exercise what they claim', () => {
  const blocksOf = (name: string) => {
    const eng = openEngram(imageOf(name), publicKeyBytes(expectedOf(name).publicKey))
    return Object.fromEntries(eng.entries().map((e) => [e.path, e.blocks.map((k) => [k.codec, k.logical, k.stored < k.logical])]))
  }

  it('engram: Zstd blocks (4 of a 200,000-byte text), raw blocks of an incompressible file, an empty file, paths in UTF-8 order', () => {
    const b = blocksOf('engram')
    expect(b['/docs/prose-200k.txt']).toEqual([[2, 65536, true], [2, 65536, true], [2, 65536, true], [2, 3392, true]])
    expect(b['/noise-70k.bin']).toEqual([[0, 65536, false], [0, 4464, false]])
    expect(b['/empty']).toEqual([])
    expect(b['/hello.txt']).toEqual([[0, 15, false]]) // 15 bytes do not shrink in a Zstd frame: raw
    expect(Object.keys(b).indexOf('/sort/\uFF21.txt') + 1).toBe(Object.keys(b).indexOf('/sort/😀.txt')) // U+FF21 before U+1F600 (UTF-8), unlike UTF-16
  })

  it('engram-lz4: LZ4 blocks (2 of a 100,000-byte text), a raw block, a snapshot in the manifest source', () => {
    const b = blocksOf('engram-lz4')
    expect(b['/docs/prose-100k.txt']).toEqual([[1, 65536, true], [1, 34464, true]])
    expect(b['/noise-1k.bin']).toEqual([[0, 1000, false]])
    expect(expectedOf('engram-lz4').manifest.source).toMatchObject({ snapshot: 'v1' })
  })
})

describe('engram damage anywhere', () => {
  it('engram-lz4: every byte outside the blocks and every 97th block byte, flipped: both readers fail to read everything and fail verification', async () => {
    const image = imageOf('engram-lz4')
    const publicKey = publicKeyBytes(expectedOf('engram-lz4').publicKey)
    const h = openEngram(image, publicKey).header
    const offsets: number[] = []
    for (let at = 0; at < image.length; at += at < 256 || at >= h.dirOffset ? 1 : 97) offsets.push(at)
    for (const at of offsets) {
      const bad = flipped(image, at, 1 << (at % 8))
      expect(ours(() => ourReadAll(bad, publicKey)), `byte ${at}`).not.toBe('ok')
      expect(verifyEngram(bad, publicKey).valid, `byte ${at}`).toBe(false)
      expect(await theirs(() => refReadAll(bad, publicKey)), `byte ${at}`).not.toBe('ok')
      expect((await Engram.verify(new BytesRangeSource(bad), publicKey)).valid, `byte ${at}`).toBe(false)
    }
    expect(offsets.length).toBeGreaterThan(image.length - h.dirOffset + 256)
  })
})

describe('engrams built on the fly', () => {
  /** `files` through the reference writer, in UTF-8 path order. */
  async function freeze(name: string, files: Map<string, Uint8Array>, compression: 'zstd' | 'lz4' | 'none') {
    const keys = await generateSigningKey()
    const sorted = [...files].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    const source = (async function* (): AsyncGenerator<EngramSourceFile> {
      for (const [path, data] of sorted) {
        yield { path, size: data.length, created: 1_700_000_000_000, modified: 1_700_000_000_001, chunks: async function* () { yield data } }
      }
    })()
    const out = join(tmp, `${name}.eng`)
    await writeEngram(out, source, { secretKey: keys.secretKey, compression, manifest: { slug: name, title: name, created: new Date(0).toISOString() } })
    return { image: readFileSync(out), publicKey: keys.publicKey, sorted }
  }

  it('a directory of several pages whose order differs in UTF-16: both readers find every file through the index', async () => {
    // U+FF21 sorts before U+1F600 in UTF-8 and after it in UTF-16: a reader comparing UTF-16 picks the wrong page.
    const files = new Map<string, Uint8Array>()
    for (let i = 0; i < 700; i++) {
      const n = String(i).padStart(4, '0')
      files.set(`/p/\uFF21-${n}-a-name-long-enough-to-fill-pages.txt`, text(`A ${i}`))
      files.set(`/p/😀-${n}-a-name-long-enough-to-fill-pages.txt`, text(`grin ${i}`))
    }
    files.set('/p/empty', new Uint8Array(0))
    files.set('/z/big.bin', bytes(200_000, 7))
    const { image, publicKey, sorted } = await freeze('pages', files, 'zstd')
    const mine = openEngram(image, publicKey)
    expect(mine.pages.length).toBeGreaterThanOrEqual(3)
    expect(mine.files()).toEqual(sorted.map(([p]) => p))
    const ref = await refOpen(image, publicKey)
    for (const [p, data] of sorted) {
      expect(Buffer.from(mine.read(p)).equals(Buffer.from(data)), p).toBe(true)
      expect(Buffer.from(await ref.read(p)).equals(Buffer.from(data)), p).toBe(true)
    }
    for (const missing of ['/a', '/p/\uFF21', '/p/😀-9999', '/zz']) {
      expect(mine.entry(missing)).toBeUndefined()
      expect(await ref.exists(missing)).toBe(false)
    }
    expect(verifyEngram(image, publicKey)).toEqual({ valid: true, problems: [] })
    expect((await Engram.verify(new BytesRangeSource(image), publicKey)).valid).toBe(true)
    // Damage in the second page fails only the files of that page.
    const second = mine.pages[1]
    const bad = flipped(image, second.offset + 10)
    const damaged = openEngram(bad, publicKey)
    const refDamaged = await refOpen(bad, publicKey)
    expect(ours(() => damaged.read(second.firstPath))).toBe('CARTRIDGE_AUTH_FAILED')
    expect(await theirs(() => refDamaged.read(second.firstPath))).toBe('CARTRIDGE_AUTH_FAILED')
    expect(ours(() => damaged.read(mine.pages[0].firstPath))).toBe('ok')
    expect(await theirs(() => refDamaged.read(mine.pages[0].firstPath))).toBe('ok')
  })

  it('an engram with no files, and one with compression none: both readers agree', async () => {
    const empty = await freeze('empty', new Map(), 'zstd')
    expect(openEngram(empty.image, empty.publicKey).files()).toEqual([])
    expect(await (await refOpen(empty.image, empty.publicKey)).list('/')).toEqual([])
    expect(verifyEngram(empty.image, empty.publicKey)).toEqual({ valid: true, problems: [] })
    const none = await freeze('none', new Map([['/a.txt', text('a'.repeat(100_000))]]), 'none')
    const eng = openEngram(none.image, none.publicKey)
    expect(eng.entry('/a.txt')!.blocks.map((k) => k.codec)).toEqual([0, 0])
    expect(Buffer.from(eng.read('/a.txt')).equals(Buffer.from(none.sorted[0][1]))).toBe(true)
    expect(summary(ourReadAll(none.image, none.publicKey))).toEqual(summary(await refReadAll(none.image, none.publicKey)))
  })
})
