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
  /** Persists the map through `io` (copy-on-write) and returns its root pointer (`aux` = tree height). */
  flush(io: PageIO): BlockPtr
}
