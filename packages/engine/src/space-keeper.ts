import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_PAYLOAD } from '@cartridge/pager'
import type { Allocator } from '@cartridge/allocator'
import { MAX_ENTRY_BYTES } from '@cartridge/audit'
import type { AuditTrail } from './audit-trail.js'
import { growthTarget, vacuumHeadroom } from './growth-policy.js'

/** What the space policy reads of the engine's state. */
export interface SpaceHost {
  readonly alloc: Allocator
  /** The container's size limits (none yet while a new container writes its first free map). */
  readonly limits: { maxPages: number; growthThresholdPercent: number } | undefined
  readonly maxGrowthPages: number
  /** Whether the transaction being built, or the running operation, may take space (anything but a delete). */
  readonly growing: boolean
  readonly catalogHeight: number
  /** Pages of the committed snapshot table (a commit rewrites them all). */
  readonly snapshotTablePages: number
  readonly audit: AuditTrail
  /**
   * With durability 'none', syncs the last commit and releases the pages freed before it;
   * returns whether any page became available.
   */
  releaseHeld(): boolean
}

/**
 * Where a transaction's pages come from and how the file grows (spec §15): free space first, then
 * growth by doubling (capped, with headroom), then, with durability 'none', the pages held since the
 * last sync. In a container with a `maxPages`, an operation that may take space leaves the delete
 * reserve free, so a full container can always be emptied.
 */
export class SpaceKeeper {
  readonly #host: SpaceHost

  constructor(host: SpaceHost) {
    this.#host = host
  }

  /** Allocates `count` contiguous pages (see the class). */
  allocate(count: number): number {
    const h = this.#host
    for (;;) {
      if (!this.fitsAboveReserve(count)) {
        if (h.releaseHeld()) continue
        throw this.fullError(count)
      }
      const p = h.alloc.allocate(count)
      if (p !== undefined) return p
      if (this.#canGrow(count)) {
        this.#grow(count)
        continue
      }
      if (h.releaseHeld()) continue
      throw this.fullError(count)
    }
  }

  /**
   * Reserves a run outside any transaction (a streamed write's chunk, a database page stash),
   * as a write that takes space: `undefined` when no run is free above the delete reserve.
   */
  reserveRun(count: number): number | undefined {
    for (;;) {
      const page = this.fitsAboveReserve(count, true) ? this.#host.alloc.reserve(count) : undefined
      if (page !== undefined || !this.#host.releaseHeld()) return page
    }
  }

  /**
   * Pages a delete's commit may need when nothing else is free: two catalog paths (a range
   * delete rewrites the nodes on both of its edges; merges only give pages back), every page of
   * the free map and of the snapshot table, and one spare.
   */
  deleteReserve(height = this.#host.catalogHeight): number {
    const h = this.#host
    return 2 * height + h.alloc.flushPages + h.snapshotTablePages + 1 + this.#auditReserve()
  }

  /**
   * Pages a commit's audit entries may need: entry pages for the pending entries and one more (a
   * delete's; the last page rewritten is among them), the pointer-tree path above them plus one
   * node when the tree grows a level, and the head page.
   */
  #auditReserve(): number {
    const audit = this.#host.audit
    if (!audit.enabled) return 0
    const height = audit.committed?.entries.aux ?? 0
    return Math.ceil((audit.pendingBytes + MAX_ENTRY_BYTES + 2) / PAGE_PAYLOAD) + height + 2
  }

  /**
   * Whether `count` more pages leave the delete reserve free: always for a container without a
   * `maxPages`, and for a delete (or the commit of deletes only). Otherwise the free pages plus
   * the room left to grow, minus `count`, must cover {@link deleteReserve}.
   */
  fitsAboveReserve(count: number, grows = this.#host.growing): boolean {
    const h = this.#host
    const max = h.limits?.maxPages ?? 0
    if (max === 0 || !grows) return true
    const spare = h.alloc.availablePages + Math.max(0, max - h.alloc.totalPages) - count
    // The catalog's height costs a node read: look only when the cheap bound (height 32) settles it.
    return spare >= this.deleteReserve(32) || spare >= this.deleteReserve()
  }

  /** `CARTRIDGE_FULL` for an allocation of `needed` pages that cannot be met. */
  fullError(needed: number): CartridgeError {
    const h = this.#host
    const max = h.limits?.maxPages ?? 0
    return new CartridgeError(
      ErrorCodes.FULL,
      `container is full (${h.alloc.totalPages} of at most ${max} pages, ${h.alloc.availablePages} free; ${needed} more needed` +
        (h.growing ? `, and ${this.deleteReserve()} are kept so files can still be deleted)` : ')'),
    )
  }

  /** The size to grow to so that `needed` more pages fit (spec §15; see {@link growthTarget}). */
  #growthTarget(needed: number): number {
    const h = this.#host
    return growthTarget(h.alloc.totalPages, needed, h.maxGrowthPages, h.limits?.growthThresholdPercent ?? 0, h.limits?.maxPages ?? 0)
  }

  /** Free pages a vacuum leaves at the end of the file (spec §15; see {@link vacuumHeadroom}). */
  get vacuumHeadroom(): number {
    const h = this.#host
    return vacuumHeadroom(h.alloc.totalPages - h.alloc.freePages, h.limits?.growthThresholdPercent ?? 0, h.maxGrowthPages)
  }

  /**
   * Grows once so that `pages` more pages fit, for a write whose size is known: it then ends in a
   * file sized to it (plus headroom) rather than doubling past it on the way. Best effort: at
   * `maxPages` the write's own allocations report FULL.
   */
  makeRoom(pages: number): void {
    const short = pages - this.#host.alloc.availablePages
    if (short > 0 && this.#canGrow(short) && this.fitsAboveReserve(short)) this.#host.alloc.grow(this.#growthTarget(short))
  }

  /** Whether growing can make a run of `needed` pages fit at the end. */
  #canGrow(needed: number): boolean {
    return this.#growthTarget(needed) >= this.#host.alloc.totalPages + needed
  }

  /** Grows so that a run of `needed` pages fits at the end; fails with `CARTRIDGE_FULL` when it cannot. */
  #grow(needed: number): void {
    if (!this.#canGrow(needed)) throw this.fullError(needed)
    this.#host.alloc.grow(this.#growthTarget(needed))
  }

  /** Grows (as one operation) until a run of `pages` pages can be reserved (see {@link allocate}). */
  ensureFree(pages: number): void {
    this.#host.alloc.free(this.allocate(pages), pages, { reusable: true })
  }
}
