import type { BlockPtr, PageIO } from '@cartridge/pager'

/** Undo position returned by {@link Allocator.mark}. */
export interface AllocatorMark {
  readonly _brand: 'AllocatorMark'
}

/**
 * The free-space map of a container. It tracks which pages the state being built uses,
 * hands out contiguous runs, and keeps pages freed from a committed state out of reach until a
 * later commit is durable (so a crash can always fall back to the last durable commit).
 */
export interface Allocator {
  /** Pages the container holds. */
  readonly totalPages: number
  /** Pages not used by the state being built (includes pages held back until the next durable commit). */
  readonly freePages: number
  /** Pages {@link allocate} can hand out now: free, and neither held back nor reserved. */
  readonly availablePages: number
  /** At most how many pages the next {@link flush} allocates (every map page rewritten). */
  readonly flushPages: number
  /** The pages of the map as last flushed or loaded (for structural checks and marking). */
  readonly mapPages: readonly BlockPtr[]
  /** At most how many pages the persisted map of a container of `totalPages` pages takes. */
  mapPagesFor(totalPages: number): number
  /** Allocates `count` contiguous pages; `undefined` when no such run is free (the caller grows and retries). */
  allocate(count: number): number | undefined
  /**
   * Frees a run. `reusable: true` for pages born in the uncommitted transaction (nothing committed
   * refers to them); otherwise they are held until {@link onCommit} with `durable: true`.
   */
  free(start: number, count: number, options: { reusable: boolean }): void
  /** Adds pages at the end (never shrinks). */
  grow(totalPages: number): void
  /** Whether `page` is used by the state being built. */
  isUsed(page: number): boolean
  /** Reserves a run outside any transaction (for streamed writes); it stays free in the persisted map. */
  reserve(count: number): number | undefined
  /** Turns a reservation into pages used by the state being built (inside an operation; undoable). */
  claim(start: number, count: number): void
  /** Gives a reservation back. */
  unreserve(start: number, count: number): void
  /** Undo point for one operation or one transaction. */
  mark(): AllocatorMark
  /** Undoes everything since `mark` (allocations, frees, growth, flushes). */
  rollback(mark: AllocatorMark): void
  /** The transaction committed: forget undo history; when durable, release held pages. */
  onCommit(durable: boolean): void
  /**
   * Every commit before `mark` (taken at the start of the transaction being built) is durable
   * now: releases the pages freed before it, and keeps held those freed since. Returns how many
   * pages became available.
   */
  releaseBefore(mark: AllocatorMark): number
  /**
   * Allocates `count` contiguous pages that all lie below page `limit`, lowest first (for moving
   * pages toward the start of the container); `undefined` when no such run is free.
   */
  allocateBelow(count: number, limit: number): number | undefined
  /** Makes the next allocations (and the map's own pages at {@link flush}) start from the lowest free page. */
  rewind(): void
  /** Used pages at or above `page`. */
  usedFrom(page: number): number
  /** The highest used page (1 when only the meta pages are used). */
  highestUsed(): number
  /**
   * One past the highest page that is used, held or reserved: every page from there to the end
   * of the container is free and referenced by nothing, committed or not, so anything may be
   * written there.
   */
  highWater(): number
  /**
   * Shrinks the container to `totalPages` (undoable). Every page from there on must be free and
   * not held. The next {@link flush} writes the smaller map.
   */
  shrink(totalPages: number): void
  /** Marks for rewriting at the next {@link flush} every map page at or above `limit`. */
  relocateMap(limit: number): void
  /** Persists the map through `io` (copy-on-write) and returns its root pointer (`aux` = tree height). */
  flush(io: PageIO): BlockPtr
}

/**
 * An allocator implementation as a container uses it. The container records {@link id} in its
 * meta page and, when opened, picks the factory with that id, or fails with
 * `CARTRIDGE_UNSUPPORTED` when neither the reference nor the one passed in the open options has it. Any implementation passes the conformance suite
 * `runAllocatorSuite` of `@cartridge/allocator/test`.
 */
export interface AllocatorFactory {
  /**
   * Stable id recorded in the meta page: 1–16 bytes of lowercase ASCII letters, digits and
   * hyphens. `bitmap` is the reference; containers that record no id were written with it.
   */
  readonly id: string
  /** The map of a new container of `totalPages` pages: pages 0 and 1 (the meta pages) used, the rest free. */
  create(totalPages: number): Allocator
  /** The map persisted at `root` (what {@link Allocator.flush} returned) for a container of `totalPages` pages. */
  load(io: Pick<PageIO, 'read'>, root: BlockPtr, totalPages: number): Allocator
}
