import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { PageStore } from './page-store.js'
import { SECTOR_SIZE } from './page-store.js'
import { MemoryPageStore } from './memory-page-store.js'
import { PAGE_SIZE } from './page-format.js'

/** What happens to each write since the last sync when the power fails. */
export type CrashMode =
  /** every unsynced write is lost */
  | 'drop'
  /** each unsynced write is independently lost, torn at a 512-byte boundary, or kept */
  | 'random'
  /** every unsynced write is lost or torn (none survives whole) */
  | 'drop-or-tear'

type Pending = { kind: 'write'; pageNo: number; data: Uint8Array } | { kind: 'resize'; pages: number }

/** Options for {@link FaultyPageStore}. */
export interface FaultyPageStoreOptions {
  /** The n-th write (1-based) and everything after it fails as a power loss. */
  failAtWrite?: number
  /** Deterministic randomness for crash images, returns [0, 1). */
  random?: () => number
  /**
   * Count each sync as a crash point too: the power fails during the sync, before anything it
   * was to make durable is known to be, so every write since the last sync meets its fate in
   * {@link FaultyPageStore.crashImage} (a later write, such as a meta page, may survive while an
   * earlier one does not, as when a disk reorders).
   */
  crashInSync?: boolean
}

/**
 * A page store for fault injection. It remembers which writes happened since the last sync; at a
 * chosen write it "loses power" (that write and every later call throw `CARTRIDGE_IO`), and
 * {@link crashImage} then yields the bytes a disk could hold afterwards: the durable image plus
 * each unsynced write dropped, torn at 512-byte sector boundaries, or kept, per the mode.
 */
export class FaultyPageStore implements PageStore {
  readonly pageSize = PAGE_SIZE
  readonly readOnly = false
  #current: MemoryPageStore
  #durable: Uint8Array
  #pending: Pending[] = []
  #writes = 0
  #failAt: number
  #dead = false
  #closed = false
  #random: () => number
  #crashInSync: boolean

  constructor(image: Uint8Array = new Uint8Array(0), options: FaultyPageStoreOptions = {}) {
    this.#current = new MemoryPageStore(image)
    this.#durable = image.slice()
    this.#failAt = options.failAtWrite ?? Infinity
    this.#random = options.random ?? Math.random
    this.#crashInSync = options.crashInSync ?? false
  }

  /** Writes seen so far (the crash point counter). */
  get writes(): number {
    return this.#writes
  }

  /** True once the simulated power loss happened. */
  get crashed(): boolean {
    return this.#dead
  }

  /** Arms (or re-arms) the crash at the n-th write counted from now. */
  failAfter(n: number): void {
    this.#failAt = this.#writes + n
  }

  pageCount(): number {
    this.#alive()
    return this.#current.pageCount()
  }

  read(pageNo: number, into: Uint8Array): void {
    this.#alive()
    this.#current.read(pageNo, into)
  }

  write(pageNo: number, data: Uint8Array): void {
    this.#alive()
    this.#writes++
    if (this.#writes >= this.#failAt) this.#powerLoss()
    this.#current.write(pageNo, data)
    this.#pending.push({ kind: 'write', pageNo, data: data.slice() })
  }

  /** Writes zeros (one write, a crash point like any other), as a file store does. */
  prewrite(pageNo: number, count: number): void {
    const end = Math.min(pageNo + count, this.pageCount())
    if (end > pageNo) this.write(pageNo, new Uint8Array((end - pageNo) * PAGE_SIZE))
  }

  sync(): void {
    this.#alive()
    if (this.#crashInSync && ++this.#writes >= this.#failAt) this.#powerLoss()
    this.#durable = this.#current.snapshot()
    this.#pending = []
  }

  resize(pageCount: number): void {
    this.#alive()
    this.#current.resize(pageCount)
    this.#pending.push({ kind: 'resize', pages: pageCount })
  }

  /** Releases the store: later calls throw `CARTRIDGE_CLOSED` (the crash image stays available). */
  close(): void {
    this.#closed = true
  }

  /** Forces the power loss now. */
  cut(): void {
    this.#dead = true
  }

  /** The bytes a disk could hold after the power loss, per `mode`. */
  crashImage(mode: CrashMode = 'random'): Uint8Array {
    const disk = new MemoryPageStore(this.#durable)
    for (const op of this.#pending) {
      const r = this.#random()
      if (op.kind === 'resize') {
        if (mode === 'random' && r < 0.5) disk.resize(op.pages)
        continue
      }
      if (mode === 'drop') continue
      const fate = mode === 'random' ? (r < 1 / 3 ? 'drop' : r < 2 / 3 ? 'tear' : 'keep') : r < 0.5 ? 'drop' : 'tear'
      if (fate === 'drop') continue
      if (fate === 'keep') {
        disk.write(op.pageNo, op.data)
        continue
      }
      // Torn: a random proper subset of the write's sectors lands.
      const sectors = op.data.length / SECTOR_SIZE
      const image = new Uint8Array(Math.ceil(op.data.length / PAGE_SIZE) * PAGE_SIZE)
      disk.read(op.pageNo, image)
      const skip = Math.floor(this.#random() * sectors)
      for (let s = 0; s < sectors; s++) {
        if (s === skip || this.#random() < 0.5) continue
        image.set(op.data.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE), s * SECTOR_SIZE)
      }
      disk.write(op.pageNo, image)
    }
    return disk.snapshot()
  }

  #powerLoss(): never {
    this.#dead = true
    throw new CartridgeError(ErrorCodes.IO, 'simulated power loss')
  }

  #alive(): void {
    if (this.#closed) throw new CartridgeError(ErrorCodes.CLOSED, 'page store is closed')
    if (this.#dead) throw new CartridgeError(ErrorCodes.IO, 'simulated power loss: store is gone')
  }
}
