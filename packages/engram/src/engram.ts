import { CartridgeError, ErrorCodes, compareKeys, directoryPrefix, normalizeFilePath, normalizePath } from '@cartridge/core'
import { CodecSet } from '@cartridge/codec'
import {
  BLOCK_SIZE, HEADER_SIZE, decodeHeader, sameBytes, decodeIndex, decodePage, rootHash, sha256, signedMessage,
  type EngramHeader, type FileEntry, type PageRef,
} from './engram-format.js'
import { FileRangeSource, HttpRangeSource, type RangeSource } from './range-source.js'
import { startChecker, type BlockChecker, type BlockProblem, type BlockToCheck } from './block-check.js'
import { keyId, verifyMessage } from './signing-key.js'
import type { EngramManifest } from './engram-writer.js'

/** Stored bytes of consecutive blocks verified as one batch (one read). */
const CHECK_BATCH = 1 << 20
/** Batches read and not yet checked, at most. */
const CHECKS_IN_FLIGHT = 4

/** Options of {@link Engram.open}. */
export interface EngramOpenOptions {
  /** The signer's public key (32 bytes): the engram opens only if it signed it. */
  publicKey: Uint8Array
}

/** One problem {@link Engram.verify} found. */
export interface EngramProblem {
  path?: string
  offset?: number
  what: string
}

/** What {@link Engram.verify} reports. */
export interface EngramReport {
  valid: boolean
  /** Key id of the key the engram names as its signer (whether or not the signature holds). */
  signer?: string
  problems: EngramProblem[]
  files: number
  bytes: number
}

/** What {@link Engram.stat} reports. */
export interface EngramFileInfo {
  path: string
  size: number
  created: Date
  modified: Date
}

/** A path, an `http(s)://` URL (read by range requests), or a source as it is. */
async function sourceOf(source: string | RangeSource): Promise<RangeSource> {
  if (typeof source !== 'string') return source
  return /^https?:\/\//.test(source) ? HttpRangeSource.open(source) : new FileRangeSource(source)
}

const authError = (what: string, extra: { path?: string } = {}) => new CartridgeError(ErrorCodes.AUTH_FAILED, what, extra)
const text = new TextDecoder('utf-8', { fatal: true })

/**
 * An open engram: an immutable, signed archive of a container's files. Opening checks the
 * signature over the root hash; every directory page and every block is checked against the
 * hashes the root covers as it is read, so reading one file reads and checks only that file's
 * blocks, its directory page and the index.
 */
export class Engram {
  readonly manifest: EngramManifest
  /** Key id of the signer. */
  readonly signer: string
  readonly #source: RangeSource
  readonly #header: EngramHeader
  readonly #pages: PageRef[]
  readonly #codecs = new CodecSet()
  readonly #pageCache = new Map<number, FileEntry[]>()

  private constructor(source: RangeSource, header: EngramHeader, pages: PageRef[], manifest: EngramManifest) {
    this.#source = source
    this.#header = header
    this.#pages = pages
    this.manifest = manifest
    this.signer = keyId(header.publicKey)
  }

  /**
   * Opens an engram file, an `http(s)://` URL (read with range requests: only the header, the
   * index, the manifest, and then the pages and blocks of what is read are fetched), or any
   * {@link RangeSource}, and checks its signature with `publicKey`.
   * @throws CartridgeError `CARTRIDGE_AUTH_FAILED` (signed by another key, or changed since it was
   *   signed), `CARTRIDGE_CORRUPT` (not an engram, truncated), `CARTRIDGE_NOT_FOUND`
   */
  static async open(source: string | RangeSource, options: EngramOpenOptions): Promise<Engram> {
    const src = await sourceOf(source)
    try {
      const { header, pages, manifest } = await Engram.#trusted(src, options.publicKey)
      return new Engram(src, header, pages, manifest)
    } catch (err) {
      await src.close()
      throw err
    }
  }

  /** Header, index and manifest, checked against the root and the signature. */
  static async #trusted(src: RangeSource, publicKey: Uint8Array): Promise<{ header: EngramHeader; pages: PageRef[]; manifest: EngramManifest }> {
    const raw = await src.read(0, HEADER_SIZE)
    const header = decodeHeader(raw, src.size)
    const tail = await src.read(header.indexOffset, header.indexLength + header.manifestLength)
    const index = tail.subarray(0, header.indexLength)
    const manifestBytes = tail.subarray(header.indexLength)
    if (!sameBytes(rootHash(raw, index, manifestBytes), header.root)) throw authError('engram does not match its signed root: it was changed or damaged')
    if (!verifyMessage(signedMessage(header.root), header.signature, publicKey)) {
      const named = keyId(header.publicKey)
      const given = publicKey instanceof Uint8Array && publicKey.length === 32 ? keyId(publicKey) : 'an invalid key'
      throw authError(named === given ? 'engram signature does not verify: it was changed or forged' : `engram is signed by key ${named}, not ${given}`)
    }
    let manifest: EngramManifest
    try {
      manifest = JSON.parse(text.decode(manifestBytes)) as EngramManifest
    } catch (err) {
      throw new CartridgeError(ErrorCodes.CORRUPT, 'engram manifest is not JSON', { cause: err })
    }
    return { header, pages: decodeIndex(index), manifest }
  }

  /** Bytes fetched from the source so far (for remote sources: bytes transferred). */
  get bytesRead(): number {
    return this.#source.bytesRead
  }

  /** The directory page that holds `path`, if any page can. */
  #pageFor(path: string): number {
    let lo = 0
    let hi = this.#pages.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (compareKeys(this.#pages[mid].firstPath, path) <= 0) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found
  }

  async #page(i: number): Promise<FileEntry[]> {
    const hit = this.#pageCache.get(i)
    if (hit) return hit
    const ref = this.#pages[i]
    const h = this.#header
    if (ref.offset < h.dirOffset || ref.offset + ref.length > h.indexOffset) throw new CartridgeError(ErrorCodes.CORRUPT, `directory page ${i} lies outside the directory`)
    const bytes = await this.#source.read(ref.offset, ref.length)
    if (!sameBytes(sha256(bytes), ref.sha256)) throw authError(`directory page ${i} does not match its hash: the engram was changed or damaged`)
    const entries = decodePage(bytes)
    if (this.#pageCache.size > 16) this.#pageCache.delete(this.#pageCache.keys().next().value!)
    this.#pageCache.set(i, entries)
    return entries
  }

  async #entry(path: string): Promise<FileEntry | undefined> {
    const i = this.#pageFor(path)
    if (i < 0) return undefined
    return (await this.#page(i)).find((e) => e.path === path)
  }

  /** Every file path under `prefix`, in byte order. */
  async list(prefix = '/'): Promise<string[]> {
    const p = normalizePath(prefix)
    const dir = directoryPrefix(p)
    const out: string[] = []
    for (let i = 0; i < this.#pages.length; i++) for (const e of await this.#page(i)) if (e.path === p || e.path.startsWith(dir)) out.push(e.path)
    return out
  }

  /** Size and times of a file. */
  async stat(path: string): Promise<EngramFileInfo> {
    const p = normalizeFilePath(path)
    const e = await this.#entry(p)
    if (!e) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file in the engram: ${p}`, { path: p })
    return { path: p, size: e.size, created: new Date(e.created), modified: new Date(e.modified) }
  }

  /** Whether a file is at `path`. */
  async exists(path: string): Promise<boolean> {
    return (await this.#entry(normalizeFilePath(path))) !== undefined
  }

  /**
   * A file, or a range of it, checked block by block against the signed root as it is read.
   * @throws CartridgeError `CARTRIDGE_AUTH_FAILED` naming the path when a block was changed
   */
  async read(path: string, options: { offset?: number; length?: number } = {}): Promise<Uint8Array> {
    const p = normalizeFilePath(path)
    const e = await this.#entry(p)
    if (!e) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file in the engram: ${p}`, { path: p })
    const offset = Math.min(options.offset ?? 0, e.size)
    const end = Math.min(e.size, offset + (options.length ?? e.size))
    const out = new Uint8Array(end - offset)
    for (let i = Math.floor(offset / BLOCK_SIZE); i * BLOCK_SIZE < end; i++) {
      const block = await this.#block(e, i)
      const from = Math.max(offset, i * BLOCK_SIZE)
      const to = Math.min(end, i * BLOCK_SIZE + block.length)
      out.set(block.subarray(from - i * BLOCK_SIZE, to - i * BLOCK_SIZE), from - offset)
    }
    return out
  }

  /** Block `i` of `e`, checked and decoded. */
  async #block(e: FileEntry, i: number): Promise<Uint8Array> {
    const b = e.blocks[i]
    const h = this.#header
    const expected = Math.min(BLOCK_SIZE, e.size - i * BLOCK_SIZE)
    if (!b || b.logical !== expected || b.offset < HEADER_SIZE || b.offset + b.stored > h.dirOffset || b.stored > BLOCK_SIZE) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `block ${i} of ${e.path} has an impossible place or length`, { path: e.path })
    }
    const stored = await this.#source.read(b.offset, b.stored)
    if (stored.length !== b.stored || !sameBytes(sha256(stored), b.sha256)) throw authError(`block ${i} of ${e.path} does not match its hash: the engram was changed or damaged`, { path: e.path })
    if (b.codec === 0) {
      if (b.stored !== b.logical) throw new CartridgeError(ErrorCodes.CORRUPT, `block ${i} of ${e.path} has the wrong length`, { path: e.path })
      return stored
    }
    return this.#codecs.decoder(b.codec).decompress(stored, b.logical)
  }

  async close(): Promise<void> {
    await this.#source.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /**
   * Checks a whole engram: the signature with `publicKey`, then every directory page and every
   * block against its hash (one block in memory at a time), that blocks and pages tile their
   * regions with nothing between them, and that every block decodes. Never throws for damage:
   * it reports it.
   */
  static async verify(source: string | RangeSource, publicKey: Uint8Array, options: { signal?: AbortSignal; onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void } = {}): Promise<EngramReport> {
    const problems: EngramProblem[] = []
    const report = (p: EngramProblem) => {
      if (problems.length < 1000) problems.push(p)
    }
    let src: RangeSource
    try {
      src = await sourceOf(source)
    } catch (err) {
      return { valid: false, problems: [{ what: (err as Error).message }], files: 0, bytes: 0 }
    }
    let signer: string | undefined
    let files = 0
    let bytes = 0
    let total = 0
    let checker: BlockChecker | undefined
    try {
      const raw = await src.read(0, HEADER_SIZE)
      let header: EngramHeader
      try {
        header = decodeHeader(raw, src.size)
      } catch (err) {
        return { valid: false, problems: [{ what: (err as Error).message }], files: 0, bytes: 0 }
      }
      signer = keyId(header.publicKey)
      let pages: PageRef[] = []
      let manifest: EngramManifest | undefined
      try {
        const trusted = await Engram.#trusted(src, publicKey)
        pages = trusted.pages
        manifest = trusted.manifest
      } catch (err) {
        report({ what: (err as Error).message })
        try {
          pages = decodeIndex(await src.read(header.indexOffset, header.indexLength))
        } catch {
          return { valid: false, signer, problems, files: 0, bytes: 0 }
        }
      }
      // Blocks tile the data region in order: they are read in batches of consecutive blocks (one
      // read each) and checked — hashed and decoded — by the checker, on worker threads when it
      // has them, at most CHECKS_IN_FLIGHT batches ahead of the reading.
      checker = await startChecker(header.dirOffset)
      type Item = BlockToCheck & { path: string; offset: number; bi: number }
      const inFlight: { problems: Promise<BlockProblem[]>; items: Item[]; end: number }[] = []
      let batch: Item[] = []
      let batchStart = HEADER_SIZE
      let batchEnd = HEADER_SIZE
      const settleOldest = async () => {
        const b = inFlight.shift()!
        for (const p of await b.problems) report({ path: b.items[p.index].path, offset: b.items[p.index].offset, what: `block ${b.items[p.index].bi} ${p.what}` })
        options.onProgress?.({ bytesDone: b.end, bytesTotal: src.size })
      }
      const flush = async () => {
        if (batch.length > 0) {
          const stored = await src.read(batchStart, batchEnd - batchStart)
          bytes += stored.length
          if (stored.length !== batchEnd - batchStart) {
            for (const n of batch) report({ path: n.path, offset: n.offset, what: `block ${n.bi} lies past the end of the file` })
          } else {
            const problems = checker!.check(stored, batch)
            problems.catch(() => {})
            inFlight.push({ problems, items: batch, end: batchEnd })
          }
          batch = []
        }
        while (inFlight.length > CHECKS_IN_FLIGHT) await settleOldest()
      }
      let dirAt = header.dirOffset
      let dataAt = HEADER_SIZE
      let last: string | undefined
      for (const [pi, ref] of pages.entries()) {
        if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'verify aborted', { cause: options.signal.reason })
        if (ref.offset !== dirAt || ref.length === 0) report({ offset: ref.offset, what: `directory page ${pi} is not where the previous one ends` })
        dirAt = ref.offset + ref.length
        let entries: FileEntry[]
        try {
          const bytesOfPage = await src.read(ref.offset, ref.length)
          if (!sameBytes(sha256(bytesOfPage), ref.sha256)) {
            report({ offset: ref.offset, what: `directory page ${pi} does not match its hash` })
            continue
          }
          entries = decodePage(bytesOfPage)
        } catch (err) {
          report({ offset: ref.offset, what: `directory page ${pi}: ${(err as Error).message}` })
          continue
        }
        if (entries.length === 0 || entries[0].path !== ref.firstPath) report({ offset: ref.offset, what: `directory page ${pi} does not start with the path the index names` })
        for (const e of entries) {
          if (last !== undefined && compareKeys(last, e.path) >= 0) report({ path: e.path, what: 'paths out of order' })
          last = e.path
          files++
          total += e.size
          let size = 0
          for (const [bi, b] of e.blocks.entries()) {
            if (b.offset !== dataAt) report({ path: e.path, offset: b.offset, what: `block ${bi} is not where the previous block ends (${dataAt})` })
            dataAt = b.offset + b.stored
            size += b.logical
            if (b.logical !== Math.min(BLOCK_SIZE, e.size - bi * BLOCK_SIZE) || b.stored > BLOCK_SIZE || b.offset + b.stored > header.dirOffset) {
              report({ path: e.path, offset: b.offset, what: `block ${bi} has an impossible length or place` })
              continue
            }
            if (b.offset !== batchEnd || batchEnd - batchStart + b.stored > CHECK_BATCH) {
              await flush()
              batchStart = batchEnd = b.offset
            }
            batch.push({ start: b.offset - batchStart, stored: b.stored, logical: b.logical, codec: b.codec, sha256: b.sha256, path: e.path, offset: b.offset, bi })
            batchEnd += b.stored
          }
          if (size !== e.size) report({ path: e.path, what: `blocks hold ${size} bytes, the entry says ${e.size}` })
        }
      }
      await flush()
      while (inFlight.length > 0) await settleOldest()
      if (dirAt !== header.indexOffset) report({ offset: dirAt, what: 'the directory pages do not fill the directory' })
      if (dataAt !== header.dirOffset) report({ offset: dataAt, what: 'the blocks do not fill the data region' })
      if (files !== header.fileCount) report({ what: `the header says ${header.fileCount} files, the directory holds ${files}` })
      if (total !== header.totalBytes) report({ what: `the header says ${header.totalBytes} bytes, the files hold ${total}` })
      if (manifest && (manifest.fileCount !== header.fileCount || manifest.totalBytes !== header.totalBytes || manifest.signer !== signer)) {
        report({ what: 'the manifest disagrees with the header (file count, bytes or signer)' })
      }
    } finally {
      await checker?.close()
      if (typeof source === 'string') await src.close()
    }
    return { valid: problems.length === 0, signer, problems, files, bytes }
  }
}
