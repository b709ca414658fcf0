/**
 * The lowest layer: a resizable array of fixed-size pages with an explicit durability point.
 *
 * Implementations must make every write that happened before a successful `sync()` durable,
 * and may lose, reorder or tear (at 512-byte sector boundaries) any write after the last sync.
 * The commit protocol above is built to survive exactly that.
 */
export interface PageStore {
  /** Bytes per page (4096 for every store in this package). */
  readonly pageSize: number
  /** Whether writes are refused. */
  readonly readOnly: boolean
  /** Whole pages the store holds now. */
  pageCount(): number
  /**
   * Reads `into.length` bytes starting at the first byte of page `pageNo` (any length: content
   * chunks end mid-page). Bytes past the end of the store read as zero.
   */
  read(pageNo: number, into: Uint8Array): void
  /**
   * Writes `data` (a whole number of pages) at `pageNo`, extending the store if needed. For a
   * store over a file, the bytes have reached the operating system when it returns: another
   * process reading the file sees them, and they survive this process being killed (not a power
   * loss: that is what {@link sync} is for). The engine relies on this for unsynced commits.
   */
  write(pageNo: number, data: Uint8Array): void
  /**
   * Optional. Pages `[pageNo, pageNo + count)` (inside the store) hold nothing anyone reads: a
   * store over a file may write them now (zeros), so that later writes there overwrite blocks
   * the file system already allocated. On most file systems a sync that must also record newly
   * allocated blocks costs far more than one that only writes data (measured: twice as much per
   * small commit on ext4). Stores where it gains nothing leave it out.
   */
  prewrite?(pageNo: number, count: number): void
  /** Makes every earlier write durable (it survives a power loss once this returns). */
  sync(): void
  /** Sets the number of pages (grow or shrink). */
  resize(pageCount: number): void
  /** Releases the store; later calls throw `CARTRIDGE_CLOSED`. */
  close(): void
}

/** Sector size used for torn-write simulation and assumed atomic by nothing. */
export const SECTOR_SIZE = 512
