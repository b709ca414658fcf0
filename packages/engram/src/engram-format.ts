import { createHash } from 'node:crypto'
import { CartridgeError, ErrorCodes, utf8 } from '@cartridge/core'

/** First 8 bytes of every engram: `CARTENGR`. */
export const ENGRAM_MAGIC = utf8('CARTENGR')
export const ENGRAM_MAJOR = 1
export const ENGRAM_MINOR = 0
/** Bytes of the header at offset 0. */
export const HEADER_SIZE = 256
/** Largest logical size of a block (a file's content is cut into blocks of this size). */
export const BLOCK_SIZE = 65536
/** Directory pages are cut near this size (an entry larger than it gets a page of its own). */
export const DIRECTORY_PAGE_TARGET = 65536
/** Domain prefix of the root hash and of the signed message. */
export const ROOT_DOMAIN = utf8('CARTRIDGE-ENGRAM-ROOT-1\0')
export const SIGNATURE_DOMAIN = utf8('CARTRIDGE-ENGRAM-SIG-1\0')

/** Header fields (spec/ENGRAM.md §2). */
export interface EngramHeader {
  fileSize: number
  dataLength: number
  dirOffset: number
  dirLength: number
  indexOffset: number
  indexLength: number
  manifestLength: number
  fileCount: number
  totalBytes: number
  root: Uint8Array
  publicKey: Uint8Array
  signature: Uint8Array
}

export const H = {
  magic: 0, major: 8, minor: 10, headerSize: 12, fileSize: 16, dataOffset: 24, dataLength: 32, dirOffset: 40, dirLength: 48,
  indexOffset: 56, indexLength: 64, manifestLength: 68, fileCount: 72, totalBytes: 80, root: 88, publicKey: 120, signature: 152,
  reserved: 216,
} as const

/** One block of a file's content: where its stored bytes are, how long, how coded, and their SHA-256. */
export interface BlockRef {
  offset: number
  stored: number
  logical: number
  codec: number
  sha256: Uint8Array
}

/** A directory entry: one file. */
export interface FileEntry {
  path: string
  size: number
  created: number
  modified: number
  blocks: BlockRef[]
}

/** One directory page as the index lists it. */
export interface PageRef {
  offset: number
  length: number
  sha256: Uint8Array
  /** Path of the page's first entry (pages are in path order). */
  firstPath: string
}

const corrupt = (what: string) => new CartridgeError(ErrorCodes.CORRUPT, `engram is damaged: ${what}`)
const u64 = (v: DataView, off: number): number => {
  const n = v.getBigUint64(off, true)
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`a 64-bit field at ${off} is out of range`)
  return Number(n)
}
const setU64 = (v: DataView, off: number, n: number) => v.setBigUint64(off, BigInt(n), true)
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

/** Whether two byte strings are equal (hashes, mostly). */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))

export const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

/** Encodes the header (root, key and signature as given; zeros until known). */
export function encodeHeader(h: EngramHeader): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE)
  const v = view(out)
  out.set(ENGRAM_MAGIC, H.magic)
  v.setUint16(H.major, ENGRAM_MAJOR, true)
  v.setUint16(H.minor, ENGRAM_MINOR, true)
  v.setUint32(H.headerSize, HEADER_SIZE, true)
  setU64(v, H.fileSize, h.fileSize)
  setU64(v, H.dataOffset, HEADER_SIZE)
  setU64(v, H.dataLength, h.dataLength)
  setU64(v, H.dirOffset, h.dirOffset)
  setU64(v, H.dirLength, h.dirLength)
  setU64(v, H.indexOffset, h.indexOffset)
  v.setUint32(H.indexLength, h.indexLength, true)
  v.setUint32(H.manifestLength, h.manifestLength, true)
  setU64(v, H.fileCount, h.fileCount)
  setU64(v, H.totalBytes, h.totalBytes)
  out.set(h.root, H.root)
  out.set(h.publicKey, H.publicKey)
  out.set(h.signature, H.signature)
  return out
}

/**
 * Decodes and checks the header against the file's size: the regions follow each other with no
 * gap and end exactly at the end of the file.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` (not an engram, truncated, or inconsistent), `CARTRIDGE_UNSUPPORTED` (another major)
 */
export function decodeHeader(b: Uint8Array, size: number): EngramHeader {
  if (b.length < HEADER_SIZE || size < HEADER_SIZE) throw corrupt('shorter than its header (truncated)')
  for (let i = 0; i < ENGRAM_MAGIC.length; i++) if (b[i] !== ENGRAM_MAGIC[i]) throw new CartridgeError(ErrorCodes.CORRUPT, 'not an engram (wrong magic)')
  const v = view(b)
  if (v.getUint16(H.major, true) !== ENGRAM_MAJOR) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `engram format ${v.getUint16(H.major, true)} is not supported`)
  if (v.getUint32(H.headerSize, true) !== HEADER_SIZE || u64(v, H.dataOffset) !== HEADER_SIZE) throw corrupt('header size')
  const h: EngramHeader = {
    fileSize: u64(v, H.fileSize), dataLength: u64(v, H.dataLength), dirOffset: u64(v, H.dirOffset), dirLength: u64(v, H.dirLength),
    indexOffset: u64(v, H.indexOffset), indexLength: v.getUint32(H.indexLength, true), manifestLength: v.getUint32(H.manifestLength, true),
    fileCount: u64(v, H.fileCount), totalBytes: u64(v, H.totalBytes),
    root: b.slice(H.root, H.root + 32), publicKey: b.slice(H.publicKey, H.publicKey + 32), signature: b.slice(H.signature, H.signature + 64),
  }
  if (h.fileSize !== size) throw corrupt(`the header says ${h.fileSize} bytes, the file has ${size} (truncated or extended)`)
  if (HEADER_SIZE + h.dataLength !== h.dirOffset || h.dirOffset + h.dirLength !== h.indexOffset || h.indexOffset + h.indexLength + h.manifestLength !== h.fileSize) {
    throw corrupt('its regions do not follow each other to the end of the file')
  }
  for (let i = H.reserved; i < HEADER_SIZE; i++) if (b[i] !== 0) throw corrupt('reserved header bytes are not zero')
  return h
}

/**
 * The root hash: SHA-256 over the domain, the header (without the root and the signature), the
 * SHA-256 of the index and the SHA-256 of the manifest. The index holds every directory page's
 * hash and each directory entry every block's hash, so the root covers every byte of the file.
 */
export function rootHash(header: Uint8Array, index: Uint8Array, manifest: Uint8Array): Uint8Array {
  return sha256(ROOT_DOMAIN, header.subarray(0, H.root), header.subarray(H.publicKey, H.signature), header.subarray(H.reserved, HEADER_SIZE), sha256(index), sha256(manifest))
}

/** The message the signature covers: the domain and the root. */
export const signedMessage = (root: Uint8Array): Uint8Array => {
  const m = new Uint8Array(SIGNATURE_DOMAIN.length + 32)
  m.set(SIGNATURE_DOMAIN)
  m.set(root, SIGNATURE_DOMAIN.length)
  return m
}

const BLOCK_REF = 8 + 4 + 4 + 1 + 32

/** Encoded size of an entry. */
export function entrySize(e: FileEntry): number {
  return 2 + Buffer.byteLength(e.path, 'utf8') + 8 + 8 + 8 + 4 + e.blocks.length * BLOCK_REF
}

/** A directory page: `u32 count`, then the entries. */
export function encodePage(entries: readonly FileEntry[]): Uint8Array {
  const out = new Uint8Array(4 + entries.reduce((n, e) => n + entrySize(e), 0))
  const v = view(out)
  v.setUint32(0, entries.length, true)
  let at = 4
  for (const e of entries) {
    const p = utf8(e.path)
    v.setUint16(at, p.length, true)
    out.set(p, at + 2)
    at += 2 + p.length
    setU64(v, at, e.size)
    setU64(v, at + 8, e.created)
    setU64(v, at + 16, e.modified)
    v.setUint32(at + 24, e.blocks.length, true)
    at += 28
    for (const b of e.blocks) {
      setU64(v, at, b.offset)
      v.setUint32(at + 8, b.stored, true)
      v.setUint32(at + 12, b.logical, true)
      v.setUint8(at + 16, b.codec)
      out.set(b.sha256, at + 17)
      at += BLOCK_REF
    }
  }
  return out
}

const text = new TextDecoder('utf-8', { fatal: true })
const decodeText = (b: Uint8Array, what: string): string => {
  try {
    return text.decode(b)
  } catch {
    throw corrupt(`${what} is not UTF-8`)
  }
}

/** Decodes a directory page (whose hash was checked); every length stays inside it. */
export function decodePage(b: Uint8Array): FileEntry[] {
  if (b.length < 4) throw corrupt('a directory page is too short')
  const v = view(b)
  const count = v.getUint32(0, true)
  const out: FileEntry[] = []
  let at = 4
  const need = (n: number) => {
    if (at + n > b.length) throw corrupt('a directory entry runs past its page')
  }
  for (let i = 0; i < count; i++) {
    need(2)
    const len = v.getUint16(at, true)
    need(2 + len + 28)
    const path = decodeText(b.subarray(at + 2, at + 2 + len), 'a path')
    at += 2 + len
    const e: FileEntry = { path, size: u64(v, at), created: u64(v, at + 8), modified: u64(v, at + 16), blocks: [] }
    const n = v.getUint32(at + 24, true)
    at += 28
    need(n * BLOCK_REF)
    for (let j = 0; j < n; j++) {
      e.blocks.push({ offset: u64(v, at), stored: v.getUint32(at + 8, true), logical: v.getUint32(at + 12, true), codec: v.getUint8(at + 16), sha256: b.slice(at + 17, at + 49) })
      at += BLOCK_REF
    }
    out.push(e)
  }
  if (at !== b.length) throw corrupt('a directory page has bytes after its entries')
  return out
}

/** The index: `u32 pageCount`, then per page `u64 offset, u32 length, sha256, u16 pathLen, first path`. */
export function encodeIndex(pages: readonly PageRef[]): Uint8Array {
  const paths = pages.map((p) => utf8(p.firstPath))
  const out = new Uint8Array(4 + pages.reduce((n, _, i) => n + 46 + paths[i].length, 0))
  const v = view(out)
  v.setUint32(0, pages.length, true)
  let at = 4
  pages.forEach((p, i) => {
    setU64(v, at, p.offset)
    v.setUint32(at + 8, p.length, true)
    out.set(p.sha256, at + 12)
    v.setUint16(at + 44, paths[i].length, true)
    out.set(paths[i], at + 46)
    at += 46 + paths[i].length
  })
  return out
}

export function decodeIndex(b: Uint8Array): PageRef[] {
  if (b.length < 4) throw corrupt('the index is too short')
  const v = view(b)
  const n = v.getUint32(0, true)
  const out: PageRef[] = []
  let at = 4
  for (let i = 0; i < n; i++) {
    if (at + 46 > b.length) throw corrupt('the index is cut short')
    const len = v.getUint16(at + 44, true)
    if (at + 46 + len > b.length) throw corrupt('the index is cut short')
    out.push({ offset: u64(v, at), length: v.getUint32(at + 8, true), sha256: b.slice(at + 12, at + 44), firstPath: decodeText(b.subarray(at + 46, at + 46 + len), 'a path') })
    at += 46 + len
  }
  if (at !== b.length) throw corrupt('the index has bytes after its pages')
  return out
}
