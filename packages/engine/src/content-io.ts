import { PAGE_SIZE, type PageIO, type PageStore } from '@cartridge/pager'
import type { CodecSet } from '@cartridge/codec'
import type { ContainerCipher } from '@cartridge/crypto'

/** A {@link PageIO} that can also reach the page store for content I/O. */
export interface ContentIO extends PageIO {
  readonly store: PageStore
  /** Frees a run of content pages born in txn `txn`. */
  freeRun(page: number, count: number, txn: number): void
  /** A reusable buffer of one chunk for partial-chunk reads (optional). */
  readonly scratch?: Uint8Array
  /** The container's size in pages: content outside `[2, pageLimit)` is damage (`CARTRIDGE_CORRUPT`). */
  readonly pageLimit?: number
  /** Grows once so that `pages` more fit, ahead of a write of known size (optional). */
  makeRoom?(pages: number): void
  /** Decoders for compressed chunks (absent: compressed chunks are `CARTRIDGE_UNSUPPORTED`). */
  readonly codecs?: CodecSet
  /** The data key's cipher of an encrypted container: every chunk is sealed with it. */
  readonly cipher?: ContainerCipher
}

/** Pages that `bytes` bytes take. */
export const pagesFor = (bytes: number): number => Math.ceil(bytes / PAGE_SIZE)
