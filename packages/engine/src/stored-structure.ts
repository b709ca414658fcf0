import { NULL_PTR, type BlockPtr, type PageIO } from '@cartridge/pager'

/**
 * A small structure the meta page points to that a commit rewrites whole when it changed (the
 * snapshot table, the stored policy): its value in the state being built and at the last commit
 * (the same object when unchanged), and the pages and root the last commit wrote it to.
 */
export class StoredStructure<T> {
  /** The value of the state being built. */
  working: T
  #committed: T
  #root: BlockPtr = NULL_PTR
  #pages: BlockPtr[] = []
  #written: { root: BlockPtr; pages: BlockPtr[] } | undefined
  readonly #write: (io: PageIO, value: T) => BlockPtr

  /** @param write - writes a value as new pages through `io`, returning its root (`NULL_PTR` for none) */
  constructor(empty: T, write: (io: PageIO, value: T) => BlockPtr) {
    this.working = empty
    this.#committed = empty
    this.#write = write
  }

  /** Adopts the committed value read from root `root`, which occupies `pages`. */
  load(value: T, root: BlockPtr, pages: BlockPtr[]): void {
    this.working = value
    this.#committed = value
    this.#root = root
    this.#pages = pages
  }

  /** The value at the last commit. */
  get committed(): T {
    return this.#committed
  }

  /** Pages the committed value occupies. */
  get pages(): readonly BlockPtr[] {
    return this.#pages
  }

  /** Whether the state being built holds another value. */
  get dirty(): boolean {
    return this.working !== this.#committed
  }

  /**
   * The root for the commit being written: the committed one when unchanged, else the working
   * value written as new pages through `io` after freeing the committed pages (both undone with
   * the allocator if the commit fails).
   */
  flush(io: PageIO): BlockPtr {
    if (!this.dirty) return this.#root
    for (const p of this.#pages) io.free(p)
    const pages: BlockPtr[] = []
    const txn = io.txn
    const recording: PageIO = {
      txn,
      read: (ptr, type) => io.read(ptr, type),
      allocate: (count) => io.allocate(count),
      free: (ptr) => io.free(ptr),
      stage: (n, page) => {
        pages.push({ page: n, txn, checksum: 0, aux: 0 })
        io.stage(n, page)
      },
    }
    const root = this.#write(recording, this.working)
    this.#written = { root, pages }
    return root
  }

  /** The commit that {@link flush} wrote for is durable in the store: its value is the committed one. */
  afterCommit(): void {
    if (this.#written) {
      this.#root = this.#written.root
      this.#pages = this.#written.pages
      this.#written = undefined
    }
    this.#committed = this.working
  }

  /** Back to the committed value (a failed commit). */
  discard(): void {
    this.working = this.#committed
    this.#written = undefined
  }
}
