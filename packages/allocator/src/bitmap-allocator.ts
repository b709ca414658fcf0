import { CartridgeError, ErrorCodes } from '@cartridge/core'
import {
  PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, buildPointerTree, isNullPtr, pointerNodesFor, readPointerTree, writeNode,
  type BlockPtr, type PageIO,
} from '@cartridge/pager'
import type { Allocator, AllocatorMark } from './allocator.js'

/** Pages described by one bitmap leaf page (one bit each). */
export const PAGES_PER_LEAF = PAGE_PAYLOAD * 8

type Undo =
  | { op: 'alloc'; start: number; count: number }
  | { op: 'free'; start: number; count: number; held: boolean }
  | { op: 'grow'; from: number }
  | { op: 'shrink'; from: number }
  | { op: 'claim'; start: number; count: number }
  | { op: 'flush'; leaves: BlockPtr[]; index: BlockPtr[]; root: BlockPtr }

interface Mark extends AllocatorMark {
  log: number
  pending: number
}

const leavesFor = (pages: number) => Math.max(1, Math.ceil(pages / PAGES_PER_LEAF))

/**
 * The reference {@link Allocator}: a bitmap (one bit per page, 1 = used) kept whole in memory
 * (32 KiB per GiB of container) and persisted as FREEMAP_LEAF pages under a pointer tree.
 * Allocation is next-fit over `used | held`, so sequential writes get contiguous runs.
 */
export class BitmapAllocator implements Allocator {
  #used: Uint8Array
  #held: Uint8Array
  #total: number
  #usedCount = 0
  #heldCount = 0
  #cursor = 2
  /**
   * What {@link allocateBelow} learnt since the last commit (frees are held until then, so free
   * runs only disappear): per run length, where to start looking, and a limit below which no
   * run of that length is free.
   */
  #lowHints = new Map<number, { from: number; failedBelow: number }>()
  #dirty = new Set<number>()
  #log: Undo[] = []
  /** Runs freed from committed state, held until a durable commit. */
  #pending: Array<[number, number]> = []
  /** Position of `#pending[0]` in the sequence marks count in (entries released early are gone from the front). */
  #pendingBase = 0
  #leaves: BlockPtr[] = []
  #index: BlockPtr[] = []
  #root: BlockPtr

  private constructor(totalPages: number, root: BlockPtr) {
    this.#total = totalPages
    this.#used = new Uint8Array(leavesFor(totalPages) * PAGE_PAYLOAD)
    this.#held = new Uint8Array(this.#used.length)
    this.#root = root
  }

  /** A map for a new container: pages 0 and 1 (the meta pages) used, the rest free. */
  static create(totalPages: number): BitmapAllocator {
    const a = new BitmapAllocator(totalPages, { page: 0, txn: 0, checksum: 0, aux: 0 })
    a.#setRun(0, 2, true)
    for (let i = 0; i < leavesFor(totalPages); i++) a.#dirty.add(i)
    return a
  }

  /** Loads a persisted map (every leaf is verified). */
  static load(io: Pick<PageIO, 'read'>, root: BlockPtr, totalPages: number): BitmapAllocator {
    if (isNullPtr(root)) throw new CartridgeError(ErrorCodes.CORRUPT, 'free-space map is missing')
    const a = new BitmapAllocator(totalPages, root)
    const index: BlockPtr[] = []
    const leaves = readPointerTree(io, root, (p) => index.push(p))
    if (leaves.length !== leavesFor(totalPages)) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `free-space map has ${leaves.length} leaves, expected ${leavesFor(totalPages)}`)
    }
    leaves.forEach((ptr, i) => {
      const page = io.read(ptr, PageType.FREEMAP_LEAF)
      a.#used.set(page.subarray(PAGE_HEADER_SIZE, PAGE_HEADER_SIZE + PAGE_PAYLOAD), i * PAGE_PAYLOAD)
    })
    // Bits past the end of the container mean nothing; clear them so counts stay exact.
    const lastByte = totalPages >> 3
    if (totalPages & 7) a.#used[lastByte] &= (1 << (totalPages & 7)) - 1
    a.#used.fill(0, Math.ceil(totalPages / 8))
    a.#usedCount = countBits(a.#used.subarray(0, Math.ceil(totalPages / 8)))
    a.#leaves = leaves
    a.#index = index
    return a
  }

  /** Leaf and index pages of the last flushed map (for structural checks). */
  get mapPages(): BlockPtr[] {
    return [...this.#leaves, ...this.#index]
  }

  get totalPages(): number {
    return this.#total
  }

  get freePages(): number {
    return this.#total - this.#usedCount
  }

  get availablePages(): number {
    return this.#total - this.#usedCount - this.#heldCount
  }

  get flushPages(): number {
    return this.mapPagesFor(this.#total)
  }

  mapPagesFor(totalPages: number): number {
    const leaves = leavesFor(totalPages)
    return leaves + pointerNodesFor(leaves)
  }

  isUsed(page: number): boolean {
    return (this.#used[page >> 3] & (1 << (page & 7))) !== 0
  }

  allocate(count: number): number | undefined {
    const start = this.#findRun(count)
    if (start === undefined) return undefined
    this.#setRun(start, count, true)
    this.#log.push({ op: 'alloc', start, count })
    this.#cursor = start + count
    return start
  }

  free(start: number, count: number, options: { reusable: boolean }): void {
    for (let p = start; p < start + count; p++) {
      if (!this.isUsed(p) || p < 2 || p >= this.#total) {
        throw new CartridgeError(ErrorCodes.CORRUPT, `free of page ${p}, which is not in use`, { page: p })
      }
    }
    this.#setRun(start, count, false)
    const held = !options.reusable
    if (!held) this.#lowHints.clear()
    if (held) {
      this.#setHeld(start, count, true)
      this.#pending.push([start, count])
    }
    this.#log.push({ op: 'free', start, count, held })
  }

  grow(totalPages: number): void {
    if (totalPages <= this.#total) return
    const from = this.#total
    const bytes = leavesFor(totalPages) * PAGE_PAYLOAD
    if (bytes > this.#used.length) {
      const u = new Uint8Array(bytes)
      u.set(this.#used)
      const h = new Uint8Array(bytes)
      h.set(this.#held)
      this.#used = u
      this.#held = h
    }
    for (let i = leavesFor(from); i < leavesFor(totalPages); i++) this.#dirty.add(i)
    this.#total = totalPages
    this.#log.push({ op: 'grow', from })
  }

  allocateBelow(count: number, limit: number): number | undefined {
    let hint = this.#lowHints.get(count)
    if (!hint) this.#lowHints.set(count, (hint = { from: 2, failedBelow: 0 }))
    const to = Math.min(limit, this.#total)
    if (to <= hint.failedBelow) return undefined
    const start = this.#scan(hint.from, to, count)
    if (start === undefined) {
      hint.failedBelow = to
      return undefined
    }
    this.#setRun(start, count, true)
    this.#log.push({ op: 'alloc', start, count })
    hint.from = start + count
    return start
  }

  rewind(): void {
    this.#cursor = 2
  }

  usedFrom(page: number): number {
    let n = 0
    for (let p = Math.max(page, 0); p < this.#total; p++) {
      if ((p & 7) === 0 && this.#used[p >> 3] === 0 && p + 8 <= this.#total) {
        p += 7
        continue
      }
      if (this.isUsed(p)) n++
    }
    return n
  }

  highestUsed(): number {
    for (let p = this.#total - 1; p >= 2; p--) if (this.isUsed(p)) return p
    return 1
  }

  highWater(): number {
    const used = this.#used
    const held = this.#held
    for (let i = Math.ceil(this.#total / 8) - 1; i >= 0; i--) {
      const byte = used[i] | held[i]
      if (byte !== 0) return i * 8 + 32 - Math.clz32(byte)
    }
    return 0
  }

  shrink(totalPages: number): void {
    if (totalPages >= this.#total) return
    if (totalPages < 3) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a container keeps at least 3 pages')
    for (let p = totalPages; p < this.#total; p++) {
      if (this.isUsed(p) || (this.#held[p >> 3] & (1 << (p & 7))) !== 0) {
        throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `cannot shrink to ${totalPages} pages: page ${p} is in use`, { page: p })
      }
    }
    this.#log.push({ op: 'shrink', from: this.#total })
    this.#total = totalPages
    this.#dirty.add(leavesFor(totalPages) - 1)
    if (this.#cursor > totalPages) this.#cursor = 2
  }

  relocateMap(limit: number): void {
    this.#leaves.forEach((ptr, i) => {
      if (ptr.page >= limit) this.#dirty.add(i)
    })
    if (this.#index.some((p) => p.page >= limit)) this.#dirty.add(0)
  }

  reserve(count: number): number | undefined {
    const start = this.#findRun(count)
    if (start === undefined) return undefined
    this.#setHeld(start, count, true)
    this.#cursor = start + count
    return start
  }

  claim(start: number, count: number): void {
    this.#setHeld(start, count, false)
    this.#setRun(start, count, true)
    this.#log.push({ op: 'claim', start, count })
  }

  unreserve(start: number, count: number): void {
    this.#setHeld(start, count, false)
  }

  mark(): AllocatorMark {
    return { log: this.#log.length, pending: this.#pendingBase + this.#pending.length } as Mark
  }

  rollback(mark: AllocatorMark): void {
    const m = mark as Mark
    while (this.#log.length > m.log) {
      const u = this.#log.pop()!
      switch (u.op) {
        case 'alloc':
          this.#setRun(u.start, u.count, false)
          break
        case 'free':
          this.#setRun(u.start, u.count, true)
          if (u.held) this.#setHeld(u.start, u.count, false)
          break
        case 'grow':
          for (let i = leavesFor(u.from); i < leavesFor(this.#total); i++) this.#dirty.delete(i)
          this.#total = u.from
          break
        case 'shrink':
          for (let i = leavesFor(this.#total) - 1; i < leavesFor(u.from); i++) this.#dirty.add(i)
          this.#total = u.from
          break
        case 'claim':
          this.#setRun(u.start, u.count, false)
          this.#setHeld(u.start, u.count, true)
          break
        case 'flush':
          this.#leaves = u.leaves
          this.#index = u.index
          this.#root = u.root
          break
      }
    }
    this.#pending.length = Math.max(0, m.pending - this.#pendingBase)
    this.#cursor = 2
    this.#lowHints.clear()
  }

  onCommit(durable: boolean): void {
    this.#log = []
    this.#lowHints.clear()
    if (durable) {
      for (const [s, c] of this.#pending) this.#setHeld(s, c, false)
      this.#pendingBase += this.#pending.length
      this.#pending = []
    }
  }

  releaseBefore(mark: AllocatorMark): number {
    const n = Math.min((mark as Mark).pending - this.#pendingBase, this.#pending.length)
    if (n <= 0) return 0
    const before = this.#heldCount
    for (const [s, c] of this.#pending.splice(0, n)) this.#setHeld(s, c, false)
    this.#pendingBase += n
    this.#lowHints.clear()
    return before - this.#heldCount
  }

  flush(io: PageIO): BlockPtr {
    if (this.#dirty.size === 0 && !isNullPtr(this.#root)) return this.#root
    this.#log.push({ op: 'flush', leaves: this.#leaves, index: this.#index, root: this.#root })
    const oldLeaves = this.#leaves
    for (const p of this.#index) io.free(p)
    const assigned = new Map<number, number>()
    const indexPages: number[] = []
    // Allocating pages for the map changes the map: repeat until no leaf lacks a new page.
    for (let changed = true; changed; ) {
      changed = false
      for (const leaf of [...this.#dirty].sort((a, b) => a - b)) {
        if (leaf >= leavesFor(this.#total)) continue
        if (assigned.has(leaf)) continue
        if (oldLeaves[leaf]) io.free(oldLeaves[leaf])
        assigned.set(leaf, io.allocate(1))
        changed = true
      }
      while (indexPages.length < pointerNodesFor(leavesFor(this.#total))) {
        indexPages.push(io.allocate(1))
        changed = true
      }
    }
    // A shrunk map drops its last leaves.
    for (let i = leavesFor(this.#total); i < oldLeaves.length; i++) io.free(oldLeaves[i])
    const leaves = oldLeaves.slice(0, leavesFor(this.#total))
    for (const [leaf, pageNo] of assigned) {
      leaves[leaf] = writeNode(io, PageType.FREEMAP_LEAF, 0, 0, PAGE_PAYLOAD, (page) => {
        page.set(this.#used.subarray(leaf * PAGE_PAYLOAD, (leaf + 1) * PAGE_PAYLOAD), PAGE_HEADER_SIZE)
      }, pageNo)
    }
    const index: BlockPtr[] = []
    const root = buildPointerTree(io, leaves, () => {
      const p = indexPages.shift()!
      index.push({ page: p, txn: io.txn, checksum: 0, aux: 0 })
      return p
    })
    // Index pointers carry page and birth txn only (checksum 0): enough for the next flush's frees and `mapPages`.
    this.#index = index
    this.#leaves = leaves
    this.#root = root
    this.#dirty.clear()
    return root
  }

  #findRun(count: number): number | undefined {
    if (count < 1 || !Number.isInteger(count)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `bad page count ${count}`)
    const from = Math.min(this.#cursor, this.#total)
    return this.#scan(from, this.#total, count) ?? this.#scan(2, Math.min(this.#cursor + count, this.#total), count)
  }

  /** The first run of `count` pages free (not used, not held) that starts at or after `from` and ends by `to`. */
  #scan(from: number, to: number, count: number): number | undefined {
    if (count < 1 || !Number.isInteger(count)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `bad page count ${count}`)
    let run = 0
    let p = from
    while (p < to) {
      const byte = this.#used[p >> 3] | this.#held[p >> 3]
      if (byte === 0xff && (p & 7) === 0) {
        run = 0
        p += 8
        continue
      }
      if (byte === 0 && (p & 7) === 0 && p + 8 <= to) {
        run += 8
        p += 8
        if (run >= count) return p - run
        continue
      }
      if (byte & (1 << (p & 7))) run = 0
      else if (++run === count) return p - count + 1
      p++
    }
    return undefined
  }

  #setRun(start: number, count: number, used: boolean): void {
    for (let p = start; p < start + count; p++) {
      const bit = 1 << (p & 7)
      const was = (this.#used[p >> 3] & bit) !== 0
      if (was === used) continue
      this.#used[p >> 3] ^= bit
      this.#usedCount += used ? 1 : -1
      this.#dirty.add(Math.floor(p / PAGES_PER_LEAF))
    }
  }

  #setHeld(start: number, count: number, held: boolean): void {
    for (let p = start; p < start + count; p++) {
      const bit = 1 << (p & 7)
      if (((this.#held[p >> 3] & bit) !== 0) === held) continue
      this.#held[p >> 3] ^= bit
      this.#heldCount += held ? 1 : -1
    }
  }
}

/** Set bits in `bytes`, a 32-bit word at a time where aligned. */
function countBits(bytes: Uint8Array): number {
  let n = 0
  const words = bytes.byteOffset % 4 === 0 ? Math.floor(bytes.length / 4) : 0
  const w32 = new Uint32Array(bytes.buffer, bytes.byteOffset, words)
  for (let i = 0; i < words; i++) {
    let v = w32[i]
    if (v === 0) continue
    v = v - ((v >>> 1) & 0x55555555)
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333)
    n += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24)
  }
  for (let i = words * 4; i < bytes.length; i++) {
    let b = bytes[i]
    b = b - ((b >> 1) & 0x55)
    b = (b & 0x33) + ((b >> 2) & 0x33)
    n += (b + (b >> 4)) & 0x0f
  }
  return n
}
