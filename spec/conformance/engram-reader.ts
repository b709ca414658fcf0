/**
 * An independent reader of engrams, version 1.0, written from spec/ENGRAM.md alone (nothing from
 * packages/*). SHA-256 and Ed25519 come from `node:crypto`; blocks are decoded by the container
 * reader's own LZ4 and Zstd decoders (`decodeChunk` of ./reader.ts: the LZ4 stored form of
 * FORMAT.md §24, one Zstd frame, each stopping at logicalLength + 1).
 *
 * Opening (§6) checks the header and the layout of §1 against the size of the bytes, recomputes
 * the root (§5) and verifies the signature with the public key the caller trusts (never the key the
 * header names). Reading a file finds its directory page through the index (the last page whose
 * first path is ≤ the path, in UTF-8 byte order), checks the page's SHA-256, then each block's,
 * and decodes each block to exactly its logicalLength. `verifyEngram` does all of that for every
 * page and block and checks that pages and blocks tile their regions.
 *
 * Errors (`ReadError` of the container reader): `corrupt` for anything malformed or truncated,
 * `unsupported` for another major version or an unknown codec, `auth` for a root, signature,
 * page hash or block hash that does not match (the bytes are not what the key signed).
 */
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto'
import { ReadError, decodeChunk } from './reader.js'

const HEADER = 256
const BLOCK = 65536
const BLOCK_REF = 8 + 4 + 4 + 1 + 32 // offset, storedLength, logicalLength, codec, SHA-256
const INDEX_REF = 8 + 4 + 32 + 2 // offset, length, SHA-256, firstPathLen (the path follows)
const ROOT_DOMAIN = Buffer.from('CARTRIDGE-ENGRAM-ROOT-1\0', 'latin1')
const SIG_DOMAIN = Buffer.from('CARTRIDGE-ENGRAM-SIG-1\0', 'latin1')
/** DER of an Ed25519 SubjectPublicKeyInfo (RFC 8410) up to the 32 raw key bytes. */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

const fail = (kind: 'corrupt' | 'auth' | 'unsupported', message: string): never => {
  throw new ReadError(kind, message)
}
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const utf8 = new TextDecoder('utf-8', { fatal: true })
const text = (b: Uint8Array, what: string): string => {
  try {
    return utf8.decode(b)
  } catch {
    return fail('corrupt', `${what} is not UTF-8`)
  }
}
/** UTF-8 byte order of two paths (the order of the directory, §3). */
const comparePaths = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

/** A reader over a region: u16/u32/u64 (below 2^53) at a cursor, every read inside the region or `corrupt`. */
class Cursor {
  at = 0
  constructor(readonly b: Buffer, readonly what: string) {}
  take(n: number): Buffer {
    if (n > this.b.length - this.at) fail('corrupt', `${this.what} is cut short`)
    return this.b.subarray(this.at, (this.at += n))
  }
  u8 = () => this.take(1)[0]
  u16 = () => this.take(2).readUInt16LE(0)
  u32 = () => this.take(4).readUInt32LE(0)
  u64 = (): number => {
    const n = this.take(8).readBigUInt64LE(0)
    return n >= 2n ** 53n ? fail('corrupt', `${this.what}: a u64 at ${this.at - 8} is not below 2^53`) : Number(n)
  }
  get done(): boolean {
    return this.at === this.b.length
  }
}

/** The header (§2). */
export interface EngramHeader {
  major: number; minor: number; fileSize: number; dataLength: number; dirOffset: number; dirLength: number
  indexOffset: number; indexLength: number; manifestLength: number; fileCount: number; totalBytes: number
  root: Buffer; publicKey: Buffer; signature: Buffer
}
/** One block of a directory entry (§3). */
export interface EngramBlock { offset: number; stored: number; logical: number; codec: number; sha256: Buffer }
/** A directory entry (§3). */
export interface EngramEntry { path: string; size: number; created: number; modified: number; blocks: EngramBlock[] }
/** One page of the index (§4). */
export interface EngramPageRef { offset: number; length: number; sha256: Buffer; firstPath: string }
/** The manifest (§4), as the JSON says. */
export interface EngramManifest {
  format: string; version: number; slug: string; title: string; created: string; frozen: string
  fileCount: number; totalBytes: number; signer: string; compression: string
  source?: { uuid?: string; txn?: number; snapshot?: string | number }
}

/** Key id (§4): the first 8 bytes of SHA-256 of the public key, as 16 hex digits. */
export const keyIdOf = (publicKey: Uint8Array): string => sha256(publicKey).toString('hex', 0, 8)

/** §2 and §1: the header's fields, checked against the size of the engram. */
export function decodeHeader(bytes: Uint8Array): EngramHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length < HEADER) fail('corrupt', `${b.length} bytes: shorter than the header`)
  if (b.toString('latin1', 0, 8) !== 'CARTENGR') fail('corrupt', 'not an engram (magic)')
  const c = new Cursor(b.subarray(0, HEADER), 'header')
  c.take(8)
  const major = c.u16()
  if (major !== 1) fail('unsupported', `engram major version ${major}`)
  const minor = c.u16()
  if (c.u32() !== HEADER) fail('corrupt', 'headerSize is not 256')
  const fileSize = c.u64()
  if (c.u64() !== HEADER) fail('corrupt', 'dataOffset is not 256')
  const h: EngramHeader = {
    major, minor, fileSize, dataLength: c.u64(), dirOffset: c.u64(), dirLength: c.u64(), indexOffset: c.u64(), indexLength: c.u32(),
    manifestLength: c.u32(), fileCount: c.u64(), totalBytes: c.u64(), root: Buffer.from(c.take(32)), publicKey: Buffer.from(c.take(32)),
    signature: Buffer.from(c.take(64)),
  }
  if (c.take(40).some((x) => x !== 0)) fail('corrupt', 'reserved header bytes are not zero')
  // §1: the regions follow each other and end exactly at the end of the file.
  if (h.fileSize !== b.length) fail('corrupt', `the header says ${h.fileSize} bytes, there are ${b.length} (truncated or extended)`)
  if (HEADER + h.dataLength !== h.dirOffset) fail('corrupt', 'the blocks do not end where the directory starts')
  if (h.dirOffset + h.dirLength !== h.indexOffset) fail('corrupt', 'the directory does not end where the index starts')
  if (h.indexOffset + h.indexLength + h.manifestLength !== h.fileSize) fail('corrupt', 'the index and the manifest do not end at the end of the file')
  return h
}

/** §5: SHA-256 of the domain, header bytes 0..87, 120..151 and 216..255, SHA-256(index), SHA-256(manifest). */
export function rootOf(header: Uint8Array, index: Uint8Array, manifest: Uint8Array): Buffer {
  return sha256(ROOT_DOMAIN, header.subarray(0, 88), header.subarray(120, 152), header.subarray(216, 256), sha256(index), sha256(manifest))
}

/** §4: the index, which must be exactly its pages. */
export function decodeIndex(index: Buffer): EngramPageRef[] {
  const c = new Cursor(index, 'the index')
  const out: EngramPageRef[] = []
  for (let n = c.u32(); n > 0; n--) {
    const [offset, length, hash] = [c.u64(), c.u32(), Buffer.from(c.take(32))]
    out.push({ offset, length, sha256: hash, firstPath: text(c.take(c.u16()), 'a path in the index') })
  }
  if (!c.done) fail('corrupt', 'the index has bytes after its pages')
  return out
}

/** §3: a directory page (whose hash was checked), which must be exactly its entries. */
export function decodePage(page: Buffer, what: string): EngramEntry[] {
  const c = new Cursor(page, what)
  const out: EngramEntry[] = []
  for (let n = c.u32(); n > 0; n--) {
    const path = text(c.take(c.u16()), `a path in ${what}`)
    const [size, created, modified, count] = [c.u64(), c.u64(), c.u64(), c.u32()]
    if (count !== Math.ceil(size / BLOCK)) fail('corrupt', `${what}: ${path} has ${count} blocks for ${size} bytes`)
    const blocks = Array.from({ length: count }, (): EngramBlock => ({ offset: c.u64(), stored: c.u32(), logical: c.u32(), codec: c.u8(), sha256: Buffer.from(c.take(32)) }))
    out.push({ path, size, created, modified, blocks })
  }
  if (!c.done) fail('corrupt', `${what} has bytes after its entries`)
  return out
}

/** What `openEngram` gives: the signed manifest, and the files, read and checked on demand. */
export interface OpenedEngram {
  header: EngramHeader
  manifest: EngramManifest
  /** The index (§4). */
  pages: EngramPageRef[]
  /** Every path, in directory (UTF-8 byte) order: every page read and checked. */
  files(): string[]
  /** Every directory entry, in order. */
  entries(): EngramEntry[]
  /** The directory entry of `path` (its page read and checked), or undefined. */
  entry(path: string): EngramEntry | undefined
  /** A file's content, every block checked and decoded. */
  read(path: string): Uint8Array
}

/** The checks of §6 "Open" up to the root; the signature is verified by the caller. */
function trusted(bytes: Uint8Array): { b: Buffer; header: EngramHeader; index: Buffer; manifest: Buffer; rootHolds: boolean } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const header = decodeHeader(b)
  const index = b.subarray(header.indexOffset, header.indexOffset + header.indexLength)
  const manifest = b.subarray(header.indexOffset + header.indexLength, header.fileSize)
  return { b, header, index, manifest, rootHolds: rootOf(b.subarray(0, HEADER), index, manifest).equals(header.root) }
}

/** Ed25519 (RFC 8032) verification of the signed message (§2) with a raw 32-byte public key. */
function signatureHolds(header: EngramHeader, publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' })
    return verifySignature(null, Buffer.concat([SIG_DOMAIN, header.root]), key, header.signature)
  } catch {
    return false // not a key OpenSSL accepts as Ed25519
  }
}

function parseManifest(bytes: Buffer): EngramManifest {
  let m: unknown
  try {
    m = JSON.parse(text(bytes, 'the manifest'))
  } catch (err) {
    if (err instanceof ReadError) throw err
    return fail('corrupt', 'the manifest is not JSON')
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('corrupt', 'the manifest is not a JSON object')
  return m as EngramManifest
}

/** Block `i` of `e`, its place, lengths and hash checked, decoded to exactly logicalLength bytes (§3, §6). */
function readBlock(b: Buffer, header: EngramHeader, e: EngramEntry, i: number): Buffer {
  const k = e.blocks[i]
  const what = `${e.path}: block ${i}`
  if (k.logical !== Math.min(BLOCK, e.size - i * BLOCK)) fail('corrupt', `${what} has logicalLength ${k.logical}`)
  if (k.stored < 1 || k.stored > BLOCK) fail('corrupt', `${what} has storedLength ${k.stored}`)
  if (k.offset < HEADER || k.offset + k.stored > header.dirOffset) fail('corrupt', `${what} lies outside the data region`)
  if (k.codec > 2) fail('unsupported', `${what} has codec ${k.codec}`)
  const stored = b.subarray(k.offset, k.offset + k.stored)
  if (!sha256(stored).equals(k.sha256)) fail('auth', `${what} does not match its hash`)
  if (k.codec === 0) return k.stored === k.logical ? stored : fail('corrupt', `${what} is raw, yet storedLength ≠ logicalLength`)
  return decodeChunk(k.codec, stored, k.logical, what)
}

/** Directory page `i` of the index, its place and hash checked, decoded, starting with the path the index names. */
function readPage(b: Buffer, header: EngramHeader, pages: EngramPageRef[], i: number): EngramEntry[] {
  const ref = pages[i]
  const what = `directory page ${i}`
  if (ref.offset < header.dirOffset || ref.offset + ref.length > header.indexOffset) fail('corrupt', `${what} lies outside the directory`)
  const page = b.subarray(ref.offset, ref.offset + ref.length)
  if (!sha256(page).equals(ref.sha256)) fail('auth', `${what} does not match its hash`)
  const entries = decodePage(page, what)
  if (entries.length === 0 || entries[0].path !== ref.firstPath) fail('corrupt', `${what} does not start with the path the index names`)
  for (let j = 1; j < entries.length; j++) if (comparePaths(entries[j - 1].path, entries[j].path) >= 0) fail('corrupt', `${what}: paths out of order`)
  return entries
}

/**
 * Opens an engram held in `bytes` with the public key the caller trusts (32 raw bytes): §6 "Open".
 * @throws ReadError `corrupt` (malformed, truncated, extended), `unsupported` (another major),
 *   `auth` (the root or the signature does not hold: changed, or signed by another key)
 */
export function openEngram(bytes: Uint8Array, publicKey: Uint8Array): OpenedEngram {
  const { b, header, index, manifest: manifestBytes, rootHolds } = trusted(bytes)
  if (!rootHolds) fail('auth', 'the root does not match the header, index and manifest')
  if (!signatureHolds(header, publicKey)) {
    fail('auth', `the signature does not verify with key ${publicKey.length === 32 ? keyIdOf(publicKey) : '(not 32 bytes)'} (the header names ${keyIdOf(header.publicKey)})`)
  }
  const manifest = parseManifest(manifestBytes)
  const pages = decodeIndex(index)
  for (let i = 1; i < pages.length; i++) if (comparePaths(pages[i - 1].firstPath, pages[i].firstPath) >= 0) fail('corrupt', 'the index is out of path order')
  const checked = new Map<number, EngramEntry[]>() // pages whose hash held (the bytes cannot change under us)
  const page = (i: number): EngramEntry[] => {
    let entries = checked.get(i)
    if (!entries) checked.set(i, (entries = readPage(b, header, pages, i)))
    return entries
  }
  const entries = (): EngramEntry[] => pages.flatMap((_, i) => page(i))
  const entry = (path: string): EngramEntry | undefined => {
    let found = -1 // the last page whose first path is ≤ path
    for (let lo = 0, hi = pages.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1
      if (comparePaths(pages[mid].firstPath, path) <= 0) [found, lo] = [mid, mid + 1]
      else hi = mid - 1
    }
    return found < 0 ? undefined : page(found).find((e) => e.path === path)
  }
  return {
    header, manifest, pages, entries, entry,
    files: () => entries().map((e) => e.path),
    read: (path) => {
      const e = entry(path)
      if (!e) throw new Error(`no file ${path}`)
      const out = Buffer.alloc(e.size)
      e.blocks.forEach((_, i) => readBlock(b, header, e, i).copy(out, i * BLOCK))
      return out
    },
  }
}

/** What `verifyEngram` reports. */
export interface EngramVerdict { valid: boolean; problems: string[] }

/**
 * §6 "Verify": opens (a root or signature that does not hold is reported, and the unsigned index
 * is still walked when it decodes), then reads every page and every block in order, checking their
 * hashes, decoding the blocks, and checking that the pages tile the directory and the blocks the
 * data region, that paths ascend, and that the header's and the manifest's counts are the
 * directory's. Never throws for damage.
 */
export function verifyEngram(bytes: Uint8Array, publicKey: Uint8Array): EngramVerdict {
  const problems: string[] = []
  const why = (err: unknown) => (err instanceof ReadError ? err.message : `error: ${(err as Error).message}`)
  let t: ReturnType<typeof trusted>
  try {
    t = trusted(bytes)
  } catch (err) {
    return { valid: false, problems: [why(err)] }
  }
  const { b, header } = t
  let pages: EngramPageRef[]
  let manifest: EngramManifest | undefined
  try {
    const opened = openEngram(bytes, publicKey)
    pages = opened.pages
    manifest = opened.manifest
  } catch (err) {
    problems.push(why(err))
    try {
      pages = decodeIndex(t.index)
    } catch {
      return { valid: false, problems }
    }
  }
  let dirAt = header.dirOffset
  let dataAt = HEADER
  let files = 0
  let bytesTotal = 0
  let last: string | undefined
  pages.forEach((ref, i) => {
    if (ref.offset !== dirAt || ref.length === 0) problems.push(`directory page ${i} does not start where the previous one ends (${dirAt})`)
    dirAt = ref.offset + ref.length
    let entries: EngramEntry[]
    try {
      entries = readPage(b, header, pages, i)
    } catch (err) {
      return void problems.push(why(err))
    }
    for (const e of entries) {
      if (last !== undefined && comparePaths(last, e.path) >= 0) problems.push(`${e.path}: paths out of order`)
      last = e.path
      files++
      bytesTotal += e.size
      e.blocks.forEach((k, j) => {
        if (k.offset !== dataAt) problems.push(`${e.path}: block ${j} does not start where the previous block ends (${dataAt})`)
        dataAt = k.offset + k.stored
        try {
          readBlock(b, header, e, j)
        } catch (err) {
          problems.push(why(err))
        }
      })
    }
  })
  if (dirAt !== header.indexOffset) problems.push('the directory pages do not end where the index starts')
  if (dataAt !== header.dirOffset) problems.push('the blocks do not end where the directory starts')
  if (files !== header.fileCount) problems.push(`the header says ${header.fileCount} files, the directory holds ${files}`)
  if (bytesTotal !== header.totalBytes) problems.push(`the header says ${header.totalBytes} bytes of files, the directory holds ${bytesTotal}`)
  if (manifest) {
    const m = manifest
    if (m.format !== 'cartridge-engram' || m.version !== 1) problems.push(`the manifest says format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)}`)
    if (m.fileCount !== header.fileCount || m.totalBytes !== header.totalBytes) problems.push('the manifest and the header disagree on fileCount or totalBytes')
    if (m.signer !== keyIdOf(header.publicKey)) problems.push(`the manifest names signer ${JSON.stringify(m.signer)}, the header's key is ${keyIdOf(header.publicKey)}`)
  }
  return { valid: problems.length === 0, problems }
}
