import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { Cartridge } from './cartridge.js'
import { type CreateOptions, type StoreFactory } from './cartridge-options.js'
import type { CatalogFactory } from '@cartridge/catalog'
import type { AllocatorFactory } from '@cartridge/allocator'
import type { CacheFactory, CipherSetting, CompressionSetting, EncryptionSetting } from '@cartridge/engine'
import { isCodec, type Codec, type CodecName, type CodecOptions } from '@cartridge/codec'

/**
 * Fluent construction of a new container with non-default settings:
 * `await new CartridgeBuilder().slug('data').title('Data').maxBlocks(1024).build()`.
 */
export class CartridgeBuilder {
  #slug: string | undefined
  #title: string | undefined
  #options: CreateOptions = {}

  /** Slug (required): lowercase letters, digits and single hyphens. */
  slug(slug: string): this {
    this.#slug = slug
    return this
  }

  /** Human-readable title (default: the slug). */
  title(title: string): this {
    this.#title = title
    return this
  }

  /** File to create (default `./<slug>.cart`). */
  path(path: string): this {
    this.#options.path = path
    return this
  }

  /** Initial size in 4 KiB blocks (default 3). */
  initialBlocks(n: number): this {
    this.#options.initialBlocks = n
    return this
  }

  /** Headroom in percent (0–90, default 10): a write too large for the next doubling grows the file to what it needs plus this much, and a vacuum leaves this much of the file free (both at most one growth step; spec §15). */
  growthThresholdPercent(n: number): this {
    this.#options.growthThresholdPercent = n
    return this
  }

  /** Largest size in blocks; writes past it fail with `CARTRIDGE_FULL` (default unbounded). */
  maxBlocks(n: number): this {
    this.#options.maxBlocks = n
    return this
  }

  /** Pages the caches may hold (default 2048). */
  bufferPoolSize(n: number): this {
    this.#options.bufferPoolSize = n
    return this
  }

  /** `'full'` (default) or `'none'`; see the README's durability section. */
  durability(mode: 'full' | 'none'): this {
    this.#options.durability = mode
    return this
  }

  /**
   * Compresses new writes: `'lz4'` (fast) or `'zstd'` with an optional level 1–22 (default 3).
   * Stored in the container, so it holds after reopening.
   */
  compression(codec: CodecName, options: CodecOptions = {}): this {
    this.#options.compression = { codec, ...options }
    return this
  }

  /**
   * The codec new writes use, as an object: `lz4()`, `zstd({ level: 9 })`, or an application's
   * own codec (an id of 128–255, checked with `runCodecSuite` of `@cartridge/codec/test`), which
   * every later open then needs in its `codecs` option. Also takes a setting (`{ codec: 'zstd' }`).
   */
  codec(codec: Codec | CompressionSetting): this {
    this.#options.compression = isCodec(codec) ? { codec } : codec
    return this
  }

  /**
   * Encrypts the container: `aesGcm(key)` or `aesGcm({ passphrase })`, with the AES-GCM
   * implementation it names (default `node:crypto`).
   */
  cipher(setting: CipherSetting): this {
    if (typeof setting !== 'object' || setting === null) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'cipher takes aesGcm(key) or aesGcm({ passphrase })')
    const { aead, ...encryption } = setting
    this.#options.encryption = encryption as EncryptionSetting
    if (aead) this.#options.aead = aead
    else delete this.#options.aead
    return this
  }

  /**
   * Encrypts the container (AES-256-GCM) with `{ passphrase }` or a 32-byte `{ key }`; see
   * `CreateOptions.encryption`.
   */
  encryption(setting: EncryptionSetting): this {
    this.#options.encryption = setting
    return this
  }

  /**
   * Logs every operation in the container's tamper-evident audit log from the first commit on
   * (see `Cartridge.enableAuditLogging`); `reads: true` logs content reads too.
   */
  withAuditLogging(options: { reads?: boolean } = {}): this {
    this.#options.auditLog = { reads: options.reads === true }
    return this
  }

  /** Page cache implementation (default ARC), e.g. `(n) => new LruCache(n)`. */
  cache(factory: CacheFactory): this {
    this.#options.cache = factory
    return this
  }

  /**
   * How the container file is opened (default `FilePageStore.open`), e.g.
   * `(path, o) => new ImagePageStore(FilePageStore.open(path, o.create ? { create: true } : o))`
   * to keep the container in memory and write it out at each commit. Opening it again takes the
   * same `store` option (or none: the bytes are the same).
   */
  store(factory: StoreFactory): this {
    this.#options.store = factory
    return this
  }

  /**
   * Catalog implementation (default `btreeCatalog`): any `CatalogFactory` that passes
   * `runCatalogSuite` of `@cartridge/catalog/test`. Its id is recorded in the container, and
   * opening it again needs the same implementation in the `catalog` open option.
   */
  catalog(factory: CatalogFactory): this {
    this.#options.catalog = factory
    return this
  }

  /**
   * Allocator (free-space map) implementation (default `bitmapAllocator`): any `AllocatorFactory`
   * that passes `runAllocatorSuite` of `@cartridge/allocator/test`. Recorded like {@link catalog}.
   */
  allocator(factory: AllocatorFactory): this {
    this.#options.allocator = factory
    return this
  }

  /** Creates the container. */
  build(): Promise<Cartridge> {
    if (this.#slug === undefined) return Promise.reject(new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'CartridgeBuilder needs a slug'))
    return Cartridge.create(this.#slug, this.#title, { ...this.#options })
  }
}
