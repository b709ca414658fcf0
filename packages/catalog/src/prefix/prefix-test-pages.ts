import { viewOf } from '@cartridge/core'
import { PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, readHeader, type BlockPtr, type MemoryPageIO } from '@cartridge/pager'
import type { CatalogFactory } from '../catalog-factory.js'

/*
 * Test support for prefix-compressed leaves, written from the spec's byte layout (§9) and not
 * from `prefix-leaf.ts`: a leaf parsed by hand, and a check that a committed tree's leaves are
 * exactly what a writer must produce.
 */

const decoder = new TextDecoder('utf-8', { fatal: true })

/** A prefix leaf parsed by hand: its prefix and entries (suffix, value) in page order. */
export interface ParsedPrefixLeaf {
  prefix: string
  prefixBytes: number
  entries: { suffix: string; suffixBytes: number; value: Uint8Array }[]
}

/** Parses a whole CATALOG_PREFIX_LEAF page (header included) by hand. */
export function parsePrefixLeaf(page: Uint8Array): ParsedPrefixLeaf {
  const h = readHeader(page)
  if (h.type !== PageType.CATALOG_PREFIX_LEAF) throw new Error(`page ${h.pageNo} has type ${h.type}, not 11`)
  const v = viewOf(page)
  const end = PAGE_HEADER_SIZE + h.used
  const prefixBytes = v.getUint16(PAGE_HEADER_SIZE, true)
  let off = PAGE_HEADER_SIZE + 2 + prefixBytes
  const prefix = decoder.decode(page.subarray(PAGE_HEADER_SIZE + 2, off))
  const entries: ParsedPrefixLeaf['entries'] = []
  for (let i = 0; i < h.count; i++) {
    const suffixBytes = v.getUint16(off, true)
    const valueLen = v.getUint16(off + 2, true)
    const s = off + 4
    entries.push({ suffix: decoder.decode(page.subarray(s, s + suffixBytes)), suffixBytes, value: page.slice(s + suffixBytes, s + suffixBytes + valueLen) })
    off = s + suffixBytes + valueLen
  }
  if (off !== end) throw new Error(`page ${h.pageNo}: entries end at ${off}, used ends at ${end}`)
  return { prefix, prefixBytes, entries }
}

/** UTF-8 length of the longest common prefix of `a` and `b` that ends on a character boundary. */
export function commonPrefixBytes(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  let i = 0
  while (i < x.length && i < y.length && x[i] === y[i]) i++
  while (i > 0 && i < x.length && (x[i] & 0xc0) === 0x80) i--
  return i
}

/**
 * Checks every leaf of the committed tree at `root` (pages of `io`): type 11, within a page, the
 * keys the walk reports, the longest common prefix of its first and last keys, and the size rule
 * used = raw − (count − 1) × P + 2. Returns the number of leaves.
 * @throws Error describing the first leaf that breaks a rule
 */
export function checkPrefixLeaves(factory: CatalogFactory, io: MemoryPageIO, root: BlockPtr): number {
  let leaves = 0
  factory.visit(io, root, {
    onNode(ptr, level, keys) {
      if (level !== 0) return
      leaves++
      const page = io.pages.get(ptr.page)!
      const { used } = readHeader(page)
      const leaf = parsePrefixLeaf(page)
      const fail = (problem: string): never => {
        throw new Error(`leaf ${ptr.page} (${keys.length} keys, ${JSON.stringify(keys[0])}…): ${problem}`)
      }
      if (used > PAGE_PAYLOAD) fail(`used ${used} is more than a page`)
      const stored = leaf.entries.map((e) => leaf.prefix + e.suffix)
      if (JSON.stringify(stored) !== JSON.stringify(keys)) fail('keys differ from the walk')
      const p = commonPrefixBytes(keys[0], keys[keys.length - 1])
      if (leaf.prefixBytes !== p) fail(`prefix of ${leaf.prefixBytes} bytes, the common prefix has ${p}`)
      const raw = leaf.entries.reduce((sum, e) => sum + 4 + leaf.prefixBytes + e.suffixBytes + e.value.length, 0)
      if (used !== raw - (keys.length - 1) * p + 2) fail(`used ${used}, the size rule gives ${raw - (keys.length - 1) * p + 2}`)
    },
  })
  return leaves
}
