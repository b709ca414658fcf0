import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { seededBytes, seededRandom } from '@cartridge/core'
import {
  BytesRangeSource, Engram, formatPublicKey, formatSecretKey, generateSigningKey, keyId, parsePublicKey, parseSecretKey, publicKeyOf,
  signMessage, verifyMessage, writeEngram, type EngramSourceFile,
} from './index.js'

ed.hashes.sha512 = sha512
const dir = mkdtempSync(join(tmpdir(), 'engram-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function source(files: Map<string, Uint8Array>): AsyncIterable<EngramSourceFile> {
  const sorted = [...files].sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))
  return (async function* () {
    for (const [path, data] of sorted) {
      yield {
        path, size: data.length, created: 1_700_000_000_000, modified: 1_700_000_100_000,
        chunks: async function* () {
          for (let off = 0; off < data.length; off += 50_000) yield data.subarray(off, off + 50_000)
        },
      }
    }
  })()
}

const text = (size: number, seed: number) => {
  let s = ''
  for (let i = 0; s.length < size; i++) s += `line ${(i * 7919 + seed) % 9973}\n`
  return new TextEncoder().encode(s.slice(0, size))
}
const manifest = { slug: 'demo', title: 'Demo', created: new Date(0).toISOString() }

function sample(): Map<string, Uint8Array> {
  return new Map([
    ['/a.txt', text(1000, 1)],
    ['/empty', new Uint8Array(0)],
    ['/data/big.bin', seededBytes(300_000, 2)],
    ['/data/text.log', text(400_000, 3)],
    ['/é/😀.txt', text(70_000, 4)],
  ])
}

describe('signing keys', () => {
  it('text forms round-trip; node:crypto and @noble/ed25519 make and accept the same signatures', async () => {
    const { secretKey, publicKey } = await generateSigningKey()
    expect(parseSecretKey(formatSecretKey(secretKey))).toEqual(secretKey)
    expect(parsePublicKey(`  ${formatPublicKey(publicKey)}\n`)).toEqual(publicKey)
    expect(() => parsePublicKey(formatSecretKey(secretKey))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(publicKeyOf(secretKey)).toEqual(publicKey)
    expect(keyId(publicKey)).toMatch(/^[0-9a-f]{16}$/)
    expect(ed.getPublicKey(secretKey)).toEqual(publicKey)
    const message = new TextEncoder().encode('the root of an engram')
    const ours = signMessage(message, secretKey)
    expect(ed.sign(message, secretKey)).toEqual(ours) // Ed25519 is deterministic: the same bytes
    expect(ed.verify(ours, message, publicKey)).toBe(true)
    expect(verifyMessage(message, ed.sign(message, secretKey), publicKey)).toBe(true)
    const other = (await generateSigningKey()).publicKey
    expect(verifyMessage(message, ours, other)).toBe(false)
    expect(ed.verify(ours, message, other)).toBe(false)
  })
})

describe('engrams', () => {
  it('freeze → open → every file byte-identical, by range too; list, stat, manifest', async () => {
    const keys = await generateSigningKey()
    const files = sample()
    const out = join(dir, 'a.eng')
    const summary = await writeEngram(out, source(files), { secretKey: keys.secretKey, manifest })
    expect(summary.fileCount).toBe(files.size)
    const eng = await Engram.open(out, { publicKey: keys.publicKey })
    expect(eng.manifest).toMatchObject({ slug: 'demo', fileCount: 5, totalBytes: [...files.values()].reduce((n, d) => n + d.length, 0), signer: keyId(keys.publicKey) })
    expect(await eng.list('/')).toEqual([...files.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
    expect(await eng.list('/data')).toEqual(['/data/big.bin', '/data/text.log'])
    for (const [p, d] of files) expect(Buffer.from(await eng.read(p)).equals(Buffer.from(d)), p).toBe(true)
    const big = files.get('/data/text.log')!
    for (const [offset, length] of [[65_530, 20], [0, 1], [131_072, 65_536], [399_990, 100]]) {
      expect(Buffer.from(await eng.read('/data/text.log', { offset, length })).equals(Buffer.from(big.subarray(offset, offset + length)))).toBe(true)
    }
    expect(await eng.stat('/a.txt')).toMatchObject({ size: 1000, modified: new Date(1_700_000_100_000) })
    await expect(eng.read('/nope')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await eng.close()
    const report = await Engram.verify(out, keys.publicKey)
    expect(report).toMatchObject({ valid: true, problems: [], files: 5, signer: keyId(keys.publicKey) })
  })

  it('reading one file reads only its blocks, its directory page and the index', async () => {
    const keys = await generateSigningKey()
    const files = new Map<string, Uint8Array>()
    for (let i = 0; i < 40; i++) files.set(`/f/${String(i).padStart(2, '0')}.bin`, seededBytes(1 << 20, i))
    const out = join(dir, 'big.eng')
    await writeEngram(out, source(files), { secretKey: keys.secretKey, manifest, compression: 'none' })
    const image = readFileSync(out)
    const src = new BytesRangeSource(new Uint8Array(image))
    const eng = await Engram.open(src, { publicKey: keys.publicKey })
    const before = eng.bytesRead
    expect(Buffer.from(await eng.read('/f/17.bin')).equals(Buffer.from(files.get('/f/17.bin')!))).toBe(true)
    expect(eng.bytesRead - before).toBeLessThan((1 << 20) + 64 * 1024)
    expect(eng.bytesRead).toBeLessThan(image.length / 30)
  })

  it('10 × 1 MiB of "A" with zstd freezes to under 1 MiB', async () => {
    const keys = await generateSigningKey()
    const files = new Map<string, Uint8Array>()
    for (let i = 0; i < 10; i++) files.set(`/a${i}`, new Uint8Array(1 << 20).fill(0x41))
    const s = await writeEngram(join(dir, 'aaa.eng'), source(files), { secretKey: keys.secretKey, manifest, compression: 'zstd' })
    expect(s.fileSize).toBeLessThan(1 << 20)
  })

  it('every one of 2,000 single-byte flips fails verify, and every read of a damaged part is a coded error', async () => {
    const keys = await generateSigningKey()
    const files = new Map<string, Uint8Array>([
      ['/t.log', text(600_000, 5)],
      ['/r.bin', seededBytes(800_000, 6)],
      ['/s.txt', text(3000, 7)],
    ])
    const out = join(dir, 'flip.eng')
    await writeEngram(out, source(files), { secretKey: keys.secretKey, manifest })
    const image = new Uint8Array(readFileSync(out))
    expect(image.length).toBeGreaterThan(850_000) // about 1 MiB
    const random = seededRandom(9)
    let rejectedReads = 0
    for (let t = 0; t < 2000; t++) {
      const copy = image.slice()
      const at = Math.floor(random() * copy.length)
      copy[at] ^= 1 << Math.floor(random() * 8)
      const report = await Engram.verify(new BytesRangeSource(copy), keys.publicKey)
      expect(report.valid, `flip at ${at}`).toBe(false)
      let eng: Engram
      try {
        eng = await Engram.open(new BytesRangeSource(copy), { publicKey: keys.publicKey })
      } catch (err) {
        expect((err as { code?: string }).code, `open after a flip at ${at}`).toMatch(/^CARTRIDGE_(AUTH_FAILED|CORRUPT|UNSUPPORTED)$/)
        continue
      }
      for (const [p, d] of files) {
        try {
          expect(Buffer.from(await eng.read(p)).equals(Buffer.from(d)), `${p} after a flip at ${at}`).toBe(true)
        } catch (err) {
          expect((err as { code?: string }).code, `${p} after a flip at ${at}`).toMatch(/^CARTRIDGE_(AUTH_FAILED|CORRUPT)$/)
          rejectedReads++
        }
      }
    }
    expect(rejectedReads).toBeGreaterThan(1000)
  }, 300_000)

  it('a wrong public key is invalid; a truncated or foreign file is CARTRIDGE_CORRUPT; a changed manifest fails', async () => {
    const keys = await generateSigningKey()
    const other = await generateSigningKey()
    const out = join(dir, 'w.eng')
    await writeEngram(out, source(sample()), { secretKey: keys.secretKey, manifest })
    const wrong = await Engram.verify(out, other.publicKey)
    expect(wrong.valid).toBe(false)
    expect(wrong.problems[0].what).toContain(`signed by key ${keyId(keys.publicKey)}`)
    await expect(Engram.open(out, { publicKey: other.publicKey })).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED' })
    const image = readFileSync(out)
    for (const cut of [10, 255, 5000, image.length - 1]) {
      await expect(Engram.open(new BytesRangeSource(new Uint8Array(image.subarray(0, cut))), keys)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
      expect((await Engram.verify(new BytesRangeSource(new Uint8Array(image.subarray(0, cut))), keys.publicKey)).valid).toBe(false)
    }
    writeFileSync(join(dir, 'x.txt'), 'hello')
    await expect(Engram.open(join(dir, 'x.txt'), keys)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
    await expect(Engram.open(join(dir, 'missing.eng'), keys)).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    // Re-signing a changed engram needs the secret key: a forger with only the public key cannot.
    const forged = new Uint8Array(image)
    const m = Buffer.from(forged).indexOf('"title":"Demo"')
    forged.set(new TextEncoder().encode('"title":"Evil"'), m)
    await expect(Engram.open(new BytesRangeSource(forged), keys)).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED' })
  })
})
