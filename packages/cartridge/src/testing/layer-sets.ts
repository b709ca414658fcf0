import { bitmapAllocator, type AllocatorFactory } from '@cartridge/allocator'
import { btreeCatalog, prefixCatalog, type CatalogFactory } from '@cartridge/catalog'
import { ImagePageStore, type PageStore } from '@cartridge/pager'
import type { Codec } from '@cartridge/codec'
import { DeflateCodec } from './deflate-codec.js'

/**
 * A set of layer implementations the container suites (model sequences, crash trials) run on:
 * a catalog, an allocator, and a wrapper around the page store the suite makes. Sets are named,
 * so a printed failing sequence names the set it ran on.
 */
export interface LayerSet {
  catalog?: CatalogFactory
  allocator?: AllocatorFactory
  /** Wraps the store a suite makes (memory, file or fault-injecting) in the store under test. */
  wrap?: (store: PageStore) => PageStore
  /** An application codec the container is created with (its codec for new writes) and opened with. */
  codec?: Codec
}

export const LAYER_SETS = {
  /** The reference implementations. */
  reference: {},
  /**
   * The reference implementations under other ids: the suites' own check that a recorded id
   * reaches every open (a reopen that forgot the layers fails with CARTRIDGE_UNSUPPORTED).
   */
  renamed: { catalog: { ...btreeCatalog, id: 'btree-renamed' }, allocator: { ...bitmapAllocator, id: 'bitmap-renamed' } },
  /** The B+tree with prefix-compressed leaves (page type 11). */
  prefix: { catalog: prefixCatalog },
  /** The whole container in memory, written out at sync: over a file, a memory store, or the fault-injecting store (crash trials). */
  'image-store': { wrap: (store) => new ImagePageStore(store) },
  /** An application codec (raw DEFLATE, id 200) as the container's codec. */
  'app-codec': { codec: new DeflateCodec() },
} satisfies Record<string, LayerSet>

export type LayerSetName = keyof typeof LAYER_SETS

/** The set named `name` (default: the reference). */
export function layerSet(name: LayerSetName | undefined): LayerSet {
  return LAYER_SETS[name ?? 'reference']
}

/** The create and open options that select a set's catalog, allocator and codecs. */
export function layerOptions(set: LayerSet): { catalog?: CatalogFactory; allocator?: AllocatorFactory; codecs?: Codec[] } {
  return {
    ...(set.catalog ? { catalog: set.catalog } : {}), ...(set.allocator ? { allocator: set.allocator } : {}), ...(set.codec ? { codecs: [set.codec] } : {}),
  }
}

/** The compression a container of set `set` is created with: the set's codec, else `codec`. */
export function layerCompression(set: LayerSet, codec: 'none' | 'lz4' | 'zstd'): { codec: 'none' | 'lz4' | 'zstd' | Codec } {
  return { codec: set.codec ?? codec }
}

/** The store a suite made, wrapped as the set says. */
export function wrapStore<S extends PageStore>(set: LayerSet, store: S): PageStore {
  return set.wrap ? set.wrap(store) : store
}
