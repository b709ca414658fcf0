import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join, basename } from 'node:path'
import { randomBytes } from 'node:crypto'
import { CartridgeError, ErrorCodes, compareKeys, utf8 } from '@cartridge/core'
import type { CodecName } from '@cartridge/codec'
import {
  BLOCK_SIZE, DIRECTORY_PAGE_TARGET, HEADER_SIZE, encodeHeader, encodePage, encodeIndex, entrySize, rootHash, sha256, signedMessage,
  type FileEntry, type PageRef,
} from './engram-format.js'
import { keyId, publicKeyOf, signMessage } from './signing-key.js'
import { startSealer, type SealedBatch } from './block-pool.js'

/** Bytes of blocks gathered into one batch for the sealer. */
const BATCH_BYTES = 1 << 20
/** Batches handed to the sealer and not yet written, at most. */
const MAX_IN_FLIGHT = 8
/** Bytes read between two turns of the event loop (progress, an abort, timers). */
const YIELD_EVERY = 8 << 20
/** Bytes of output gathered before one write. */
const OUT_BUFFER = 4 << 20

/**
 * One file to freeze. `chunks` yields its content in order, in pieces of any size; a source that
 * can also read a range synchronously into a given buffer offers `read`, which the writer then
 * uses instead (no piece is allocated or copied twice).
 */
export interface EngramSourceFile {
  path: string
  size: number
  created: number
  modified: number
  chunks(): AsyncIterable<Uint8Array>
  /** Reads `length` bytes at `offset` of the file into `into` (exactly `length` bytes long). */
  read?(offset: number, length: number, into: Uint8Array): void
}

/** What an engram says about itself, signed with it. */
export interface EngramManifest {
  format: 'cartridge-engram'
  version: 1
  slug: string
  title: string
  /** When the source container was created (ISO 8601). */
  created: string
  /** When the engram was written (ISO 8601). */
  frozen: string
  fileCount: number
  totalBytes: number
  /** Key id of the signer's public key (16 hex digits). */
  signer: string
  compression: CodecName
  /** Where it came from: the container's id, the commit, and the snapshot when one was frozen. */
  source?: { uuid?: string; txn?: number; snapshot?: string }
  /**
   * The source container's audit log head when it was frozen (entries and the RFC 9162 root, hex),
   * so the signed archive pins the log as it stood; `base` and `baseRoot` too for an archive of a
   * rotated log segment (entries base … size − 1).
   */
  audit?: { size: number; root: string; base?: number; baseRoot?: string }
}

/** Options of {@link writeEngram}. */
export interface WriteEngramOptions {
  secretKey: Uint8Array
  /** Codec of the blocks (default zstd): each 64 KiB block on its own, raw when it does not shrink. */
  compression?: CodecName
  level?: number
  manifest: Pick<EngramManifest, 'slug' | 'title' | 'created'> & Partial<Pick<EngramManifest, 'source' | 'audit'>>
  /** Bytes of content written so far, of `totalBytes`. */
  onProgress?: (p: { bytesDone: number; bytesTotal: number; files: number }) => void
  signal?: AbortSignal
  /** Content bytes of all files, for progress (optional). */
  totalBytes?: number
  /**
   * Threads that compress and hash blocks beside the one reading and writing (default: one per
   * core, at most 4; 1: all on the calling thread). Below 8 MiB of content, always the calling thread.
   */
  threads?: number
}

/** What {@link writeEngram} wrote. */
export interface EngramSummary {
  path: string
  fileSize: number
  fileCount: number
  totalBytes: number
  root: Uint8Array
  manifest: EngramManifest
}

/**
 * Writes an engram of `files` (in path byte order) to `out`: into a temporary file beside it,
 * synced, then renamed into place, so `out` is either absent, as it was, or a whole signed
 * engram. Content streams through one block at a time; the directory (a few dozen bytes per
 * file and per 64 KiB block) is held until the end.
 */
export async function writeEngram(out: string, files: AsyncIterable<EngramSourceFile>, options: WriteEngramOptions): Promise<EngramSummary> {
  const publicKey = publicKeyOf(options.secretKey)
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`)
  let fd = -1
  const sealer = await startSealer(options.compression ?? 'zstd', options.level, options.totalBytes, options.threads)
  try {
    fd = openSync(tmp, 'wx')
    // Output goes through a buffer of OUT_BUFFER bytes; `at` is where the next byte lands in the file.
    let at = HEADER_SIZE
    const outBuf = new Uint8Array(OUT_BUFFER)
    let outFill = 0
    const flushOut = () => {
      let done = 0
      while (done < outFill) done += writeSync(fd, outBuf, done, outFill - done, at - outFill + done)
      outFill = 0
    }
    const write = (bytes: Uint8Array) => {
      if (outFill + bytes.length > OUT_BUFFER) flushOut()
      if (bytes.length > OUT_BUFFER) {
        let done = 0
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, at + done)
      } else {
        outBuf.set(bytes, outFill)
        outFill += bytes.length
      }
      at += bytes.length
    }
    writeSync(fd, new Uint8Array(HEADER_SIZE), 0, HEADER_SIZE, 0)
    const entries: FileEntry[] = []
    let bytesDone = 0
    let totalBytes = 0
    let lastPath: string | undefined
    let sinceYield = 0
    const progress = (files = entries.length) => options.onProgress?.({ bytesDone, bytesTotal: options.totalBytes ?? bytesDone, files })
    const aborted = () => {
      if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'freeze aborted: nothing was written', { cause: options.signal.reason })
    }

    // Blocks are gathered into batches of about BATCH_BYTES, sealed (compressed and hashed) by the
    // sealer — on worker threads when it has them — and written in order as their batches come back,
    // with at most MAX_IN_FLIGHT batches outstanding, so memory stays bounded.
    const inFlight: { sealed: Promise<SealedBatch>; owners: FileEntry[]; logical: number[] }[] = []
    const spare: Uint8Array[] = [] // batch buffers whose blocks are written, to fill again
    let batch: Uint8Array = new Uint8Array(BATCH_BYTES)
    let batchFill = 0
    let owners: FileEntry[] = []
    let lengths: number[] = []
    const writeOldest = async () => {
      const b = inFlight.shift()!
      const sealed = await b.sealed
      for (let i = 0; i < sealed.blocks.length; i++) {
        const s = sealed.blocks[i]
        b.owners[i].blocks.push({ offset: at, stored: s.stored.length, logical: b.logical[i], codec: s.codec, sha256: s.sha256 })
        write(s.stored)
      }
      if (sealed.buffer.length === BATCH_BYTES) spare.push(sealed.buffer)
    }
    const submit = () => {
      if (lengths.length === 0) return
      // The whole batch buffer goes (transferred to a worker as it is): the lengths say what it holds.
      inFlight.push({ sealed: sealer.seal(batch, lengths), owners, logical: lengths })
      // Guard the promise now: a rejection is handled when its batch is written.
      inFlight[inFlight.length - 1].sealed.catch(() => {})
      batch = spare.pop() ?? new Uint8Array(BATCH_BYTES)
      batchFill = 0
      owners = []
      lengths = []
    }

    for await (const f of files) {
      aborted()
      if (lastPath !== undefined && compareKeys(lastPath, f.path) >= 0) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `files must come in path order (${f.path} after ${lastPath})`)
      lastPath = f.path
      const e: FileEntry = { path: f.path, size: 0, created: f.created, modified: f.modified, blocks: [] }
      entries.push(e)
      let blockStart = batchFill // where this file's current block began in the batch
      const endBlock = () => {
        lengths.push(batchFill - blockStart)
        owners.push(e)
        if (batchFill + BLOCK_SIZE > BATCH_BYTES) submit()
        blockStart = batchFill
      }
      // Appends `length` bytes of the file, which `fill` copies into the batch a slice at a time (the
      // slice, and where it starts in what is being appended), never across a block's end.
      const put = async (length: number, fill: (into: Uint8Array, from: number) => void) => {
        for (let done = 0; done < length; ) {
          const take = Math.min(BLOCK_SIZE - (batchFill - blockStart), length - done)
          fill(batch.subarray(batchFill, batchFill + take), done)
          batchFill += take
          done += take
          e.size += take
          bytesDone += take
          sinceYield += take
          if (batchFill - blockStart === BLOCK_SIZE) endBlock()
          while (inFlight.length > MAX_IN_FLIGHT) await writeOldest()
          if (sinceYield >= YIELD_EVERY) {
            sinceYield = 0
            progress(entries.length - 1) // files finished: not this one yet
            await new Promise((resolve) => setImmediate(resolve))
            aborted()
          }
        }
      }
      const read = f.read?.bind(f)
      if (read) await put(f.size, (into, from) => read(from, into.length, into))
      else {
        for await (const piece of f.chunks()) {
          await put(piece.length, (into, from) => into.set(piece.subarray(from, from + into.length)))
          aborted()
        }
      }
      if (batchFill > blockStart) endBlock()
      if (e.size !== f.size) throw new CartridgeError(ErrorCodes.CONFLICT, `${f.path} changed while it was frozen (${e.size} bytes, expected ${f.size})`, { path: f.path })
      totalBytes += e.size
      progress()
    }
    submit()
    while (inFlight.length > 0) await writeOldest()
    flushOut()
    const dataLength = at - HEADER_SIZE
    // Directory pages of about 64 KiB, in path order.
    const pages: PageRef[] = []
    const dirOffset = at
    for (let i = 0; i < entries.length; ) {
      let bytes = 4
      let j = i
      while (j < entries.length && (j === i || bytes + entrySize(entries[j]) <= DIRECTORY_PAGE_TARGET)) bytes += entrySize(entries[j++])
      const page = encodePage(entries.slice(i, j))
      pages.push({ offset: at, length: page.length, sha256: sha256(page), firstPath: entries[i].path })
      write(page)
      i = j
    }
    const dirLength = at - dirOffset
    const index = encodeIndex(pages)
    const indexOffset = at
    write(index)
    const manifest: EngramManifest = {
      format: 'cartridge-engram', version: 1, slug: options.manifest.slug, title: options.manifest.title, created: options.manifest.created,
      frozen: new Date().toISOString(), fileCount: entries.length, totalBytes, signer: keyId(publicKey), compression: options.compression ?? 'zstd',
      ...(options.manifest.source ? { source: options.manifest.source } : {}),
      ...(options.manifest.audit ? { audit: options.manifest.audit } : {}),
    }
    const manifestBytes = utf8(JSON.stringify(manifest))
    write(manifestBytes)
    flushOut()
    const header = encodeHeader({
      fileSize: at, dataLength, dirOffset, dirLength, indexOffset, indexLength: index.length, manifestLength: manifestBytes.length,
      fileCount: entries.length, totalBytes, root: new Uint8Array(32), publicKey, signature: new Uint8Array(64),
    })
    const root = rootHash(header, index, manifestBytes)
    header.set(root, 88)
    header.set(signMessage(signedMessage(root), options.secretKey), 152)
    writeSync(fd, header, 0, HEADER_SIZE, 0)
    fsyncSync(fd)
    closeSync(fd)
    fd = -1
    renameSync(tmp, out)
    return { path: out, fileSize: at, fileCount: entries.length, totalBytes, root, manifest }
  } catch (err) {
    if (fd >= 0) closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  } finally {
    await sealer.close()
  }
}
