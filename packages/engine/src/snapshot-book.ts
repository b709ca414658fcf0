import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { BlockPtr, PageIO } from '@cartridge/pager'
import { EMPTY_TABLE, MAX_SNAPSHOTS, validateSnapshotName, writeSnapshotTable, type SnapshotEntry, type SnapshotTable } from '@cartridge/snapshot'
import { StoredStructure } from './stored-structure.js'

/**
 * The snapshot table (spec §13) of the state being built and of the last commit, and the
 * retention bound it implies: a block born at or before the newest snapshot's txn may belong to a
 * snapshot, so the live state never frees it alone.
 */
export class SnapshotBook {
  readonly #table = new StoredStructure<SnapshotTable>(EMPTY_TABLE, writeSnapshotTable)
  #retainTxn = -1

  /** Adopts the committed table read from `root`, which occupies `pages`. */
  load(table: SnapshotTable, root: BlockPtr, pages: BlockPtr[]): void {
    this.#table.load(table, root, pages)
    this.#retain()
  }

  /** The table of the state being built. */
  get table(): SnapshotTable {
    return this.#table.working
  }

  /** Makes `t` the table of the state being built. */
  set table(t: SnapshotTable) {
    this.#table.working = t
    this.#retain()
  }

  /** Snapshots of the state being built, in id order. */
  get entries(): readonly SnapshotEntry[] {
    return this.#table.working.entries
  }

  /** Highest txn of any snapshot (-1: none): a block born at or before it may be a snapshot's. */
  get retainTxn(): number {
    return this.#retainTxn
  }

  /** Pages the committed table occupies. */
  get pages(): readonly BlockPtr[] {
    return this.#table.pages
  }

  /** Whether the state being built changed the table. */
  get dirty(): boolean {
    return this.#table.dirty
  }

  /** The snapshot with id `ref` (a number) or name `ref` (a string). */
  find(ref: number | string): SnapshotEntry {
    const found = this.entries.find((s) => (typeof ref === 'number' ? s.id === ref : s.name === ref))
    if (!found) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such snapshot: ${typeof ref === 'number' ? `id ${ref}` : JSON.stringify(ref)}`)
    return found
  }

  /**
   * Adds snapshot `name` of a committed state, described by `of`; gets the next id.
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for a bad name, `CARTRIDGE_EXISTS`, or `CARTRIDGE_FULL` past `MAX_SNAPSHOTS`
   */
  add(name: string, created: number, of: Pick<SnapshotEntry, 'txn' | 'fileCount' | 'catalogRoot'>): SnapshotEntry {
    validateSnapshotName(name)
    const t = this.table
    if (t.entries.some((s) => s.name === name)) throw new CartridgeError(ErrorCodes.EXISTS, `a snapshot named ${JSON.stringify(name)} exists`)
    if (t.entries.length >= MAX_SNAPSHOTS) throw new CartridgeError(ErrorCodes.FULL, `a container keeps at most ${MAX_SNAPSHOTS} snapshots`)
    const entry: SnapshotEntry = { id: t.nextId, name, created, txn: of.txn, fileCount: of.fileCount, catalogRoot: of.catalogRoot }
    this.table = { nextId: t.nextId + 1, entries: [...t.entries, entry] }
    return entry
  }

  /** Removes `entry` (its id is not given out again). */
  remove(entry: SnapshotEntry): void {
    const t = this.table
    this.table = { nextId: t.nextId, entries: t.entries.filter((s) => s !== entry) }
  }

  /** Gives each snapshot the root `roots` has for its id (vacuum moved them). */
  moveRoots(roots: ReadonlyMap<number, BlockPtr>): void {
    const t = this.table
    this.table = { nextId: t.nextId, entries: t.entries.map((s) => ({ ...s, catalogRoot: roots.get(s.id) ?? s.catalogRoot })) }
  }

  /**
   * Gives the snapshots the ids and times of the container they were copied from (`ids`: id here
   * → original id and time; ids keep their order) and sets the next id.
   */
  renumber(ids: ReadonlyMap<number, { id: number; created: number }>, nextId: number): void {
    const entries = this.entries.map((s) => {
      const to = ids.get(s.id)
      return to ? { ...s, id: to.id, created: to.created } : s
    })
    for (let i = 1; i < entries.length; i++) {
      if (entries[i].id <= entries[i - 1].id) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'snapshot ids must keep their order')
    }
    if (entries.length > 0 && nextId <= entries[entries.length - 1].id) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'next snapshot id too small')
    this.table = { nextId, entries }
  }

  /** The table's root for the commit being written (see {@link StoredStructure.flush}). */
  flush(io: PageIO): BlockPtr {
    return this.#table.flush(io)
  }

  /** The commit is written: the working table is the committed one. */
  afterCommit(): void {
    this.#table.afterCommit()
  }

  /** Back to the committed table (a failed commit). */
  discard(): void {
    this.#table.discard()
    this.#retain()
  }

  #retain(): void {
    let max = -1
    for (const e of this.entries) if (e.txn > max) max = e.txn
    this.#retainTxn = max
  }
}
