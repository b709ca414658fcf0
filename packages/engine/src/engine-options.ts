import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { AllocatorFactory } from '@cartridge/allocator'
import type { CatalogFactory } from '@cartridge/catalog'
import { ArcCache, type Cache } from '@cartridge/arc-cache'
import type { Aead } from '@cartridge/crypto'
import type { Codec } from '@cartridge/codec'
import type { CompressionSetting } from './codec-choice.js'
import type { EncryptionSetting } from './encryption.js'

/** Makes a cache of the given capacity (entries). Lets a user swap the page cache. */
export type CacheFactory = (capacity: number) => Cache<number, unknown>

/** Runtime settings of an open container. */
export interface EngineOptions {
  /** Pages (4 KiB) the caches may hold; default 2048 (8 MiB). */
  bufferPoolSize?: number
  /** `'full'` (default): every commit is fsynced before it is acknowledged. `'none'`: commits are not synced; a crash may lose recent commits, never consistency. */
  durability?: 'full' | 'none'
  /** Cache implementation; default ARC. */
  cache?: CacheFactory
  /**
   * Catalog implementation. A new container is written with it (its id is recorded in the meta
   * page); opening one picks the implementation the container records, among this one and the
   * reference `btreeCatalog` (default), or fails with `CARTRIDGE_UNSUPPORTED`.
   */
  catalog?: CatalogFactory
  /** Allocator (free-space map) implementation, chosen like {@link catalog}; default `bitmapAllocator`. */
  allocator?: AllocatorFactory
  /**
   * Application codecs (ids 128–255) the container may read and write: a container whose content
   * was written with one needs it wherever it is opened (reading that content without it, or
   * writing with it as the default, fails with `CARTRIDGE_UNSUPPORTED` naming the codec id).
   */
  codecs?: readonly Codec[]
  /** Largest single growth step in pages once doubling gets large (default 16384 = 64 MiB). */
  maxGrowthPages?: number
  /** The key of an encrypted container (32 bytes). */
  key?: Uint8Array
  /** The passphrase of an encrypted container. */
  passphrase?: string
  /**
   * AES-GCM implementation for an encrypted container: default `node:crypto`; `new NobleAead()`
   * (pure JavaScript, same bytes, about 30× slower) where no native crypto exists.
   */
  aead?: Aead
}

/** Settings fixed when a container is created (stored in its meta page). */
export interface CreateSettings {
  slug: string
  title: string
  /** Initial size in pages (default 3 = 12 KiB). */
  initialPages?: number
  /** Headroom in percent (0–90, default 10): a write too large for the next doubling grows the file to what it needs plus this much, and a vacuum leaves this much of the file free (both at most one growth step; spec §15). */
  growthThresholdPercent?: number
  /** Largest size in pages (0 = unbounded). */
  maxPages?: number
  /** Codec new writes use (default none), stored in the container so it applies after reopening. */
  compression?: CompressionSetting
  /** Encrypt everything past the meta page's plain header (spec §25) with a key or a passphrase. */
  encryption?: EncryptionSetting
  /** The container id and creation time to keep (a copy of a container keeps its identity); default new. */
  identity?: { uuid: Uint8Array; created: number }
}

/** Options of {@link Engine.commit} beyond `sync`. */
export interface EngineCommitOptions {
  /** Sync new pages before the meta page (pages moved with their birth txn kept need it). */
  barrier?: boolean
}

/** The runtime settings an engine keeps, defaults filled in. */
export type ResolvedOptions = Required<Pick<EngineOptions, 'bufferPoolSize' | 'durability' | 'maxGrowthPages'>> & { cache: CacheFactory; aead?: Aead }

/**
 * Validates runtime settings and fills in defaults.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for a bad buffer pool size or durability
 */
export function resolveOptions(options: EngineOptions): ResolvedOptions {
  const bufferPoolSize = options.bufferPoolSize ?? 2048
  if (!Number.isInteger(bufferPoolSize) || bufferPoolSize < 16) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'bufferPoolSize must be an integer of at least 16 pages')
  }
  const durability = options.durability ?? 'full'
  if (durability !== 'full' && durability !== 'none') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "durability must be 'full' or 'none'")
  return {
    bufferPoolSize, durability, maxGrowthPages: options.maxGrowthPages ?? 16384,
    cache: options.cache ?? ((n) => new ArcCache<number, unknown>(n)), aead: options.aead,
  }
}

/** Validated creation settings with defaults filled in. */
export interface ResolvedCreateSettings {
  initialPages: number
  growthThresholdPercent: number
  maxPages: number
}

/**
 * Validates the size settings of a new container.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT`
 */
export function resolveCreateSettings(settings: CreateSettings): ResolvedCreateSettings {
  const initialPages = settings.initialPages ?? 3
  if (!Number.isInteger(initialPages) || initialPages < 3) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'initialBlocks must be an integer ≥ 3')
  const growthThresholdPercent = settings.growthThresholdPercent ?? 10
  if (!Number.isInteger(growthThresholdPercent) || growthThresholdPercent < 0 || growthThresholdPercent > 90) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'growthThresholdPercent must be an integer from 0 to 90')
  }
  const maxPages = settings.maxPages ?? 0
  if (!Number.isInteger(maxPages) || (maxPages !== 0 && maxPages < initialPages)) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'maxBlocks must be 0 (unbounded) or at least initialBlocks')
  }
  return { initialPages, growthThresholdPercent, maxPages }
}
