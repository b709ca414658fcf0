import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { FilePageStore, MAX_SLUG_BYTES, type PageStore } from '@cartridge/pager'
import type { CompressionSetting, EncryptionSetting, EngineOptions } from '@cartridge/engine'
import type { Codec, CodecName } from '@cartridge/codec'

/**
 * Opens the page store a container file lives in: `create` for a new file (which must not exist),
 * else an existing one, `readOnly` without the writer lock. The default is `FilePageStore.open`;
 * a factory may wrap that store (for example in an `ImagePageStore`) or replace it.
 */
export type StoreFactory = (path: string, options: { create: boolean; readOnly: boolean }) => PageStore

/** Options when opening a container. */
export interface OpenOptions extends EngineOptions {
  /** Open without the writer lock; every mutation fails with `CARTRIDGE_READ_ONLY`. */
  readOnly?: boolean
  /** How the container file is opened (default {@link defaultStore}: `FilePageStore.open`). */
  store?: StoreFactory
}

/** The default {@link StoreFactory}: the file itself, through `FilePageStore`. */
export const defaultStore: StoreFactory = (path, { create, readOnly }) => FilePageStore.open(path, create ? { create: true } : { readOnly })

/** Options when creating a container. */
export interface CreateOptions extends OpenOptions {
  /** Where to put the file (default `./<slug>.cart`). */
  path?: string
  /** Initial size in 4 KiB blocks (default 3 = 12 KiB). */
  initialBlocks?: number
  /**
   * Headroom in percent (default 10): a write too large for the next doubling grows the file to
   * what it needs plus this much, and `vacuum()` leaves this much free (both at most one growth step).
   */
  growthThresholdPercent?: number
  /** Largest size in blocks (default 0 = unbounded); writing past it fails with `CARTRIDGE_FULL`. */
  maxBlocks?: number
  /**
   * Codec for new writes (default none), e.g. `{ codec: 'zstd', level: 3 }`, `{ codec: 'lz4' }` or
   * `{ codec: zstd({ level: 3 }) }`; an application codec (`{ codec: myCodec }`) must then be in the
   * `codecs` option of every open. Stored in the container; change it later with `enableCompression`.
   */
  compression?: CompressionSetting
  /**
   * Encrypt the container (AES-256-GCM; spec §25): `{ passphrase }` (scrypt) or `{ key }` (32 bytes).
   * Opening it again needs the same `passphrase` or `key` in the open options.
   */
  encryption?: EncryptionSetting
  /** Switch the audit log on from the first commit (`true`, or `{ reads: true }` to log content reads too); see `enableAuditLogging`. */
  auditLog?: boolean | { reads?: boolean }
}

/** What `info()` reports. */
export interface CartridgeInfo {
  slug: string
  title: string
  /** File the container lives in (undefined for a custom store). */
  path?: string
  /** Size of the container in bytes. */
  sizeBytes: number
  totalBlocks: number
  freeBlocks: number
  usedBlocks: number
  fileCount: number
  /** Free blocks as a percentage of all blocks. */
  freePercentage: number
  /** Id of the last commit. */
  txn: number
  durability: 'full' | 'none'
  created: Date
  /** Snapshots the container keeps. */
  snapshots: number
  /** Codec new writes use (`'none'`, `'lz4'`, `'zstd'`) and its level (0 when it has none). */
  compression: { codec: string; level: number }
  /** How the container is encrypted, or `undefined` when it is not. */
  encryption?: { cipher: 'aes-256-gcm'; keyFrom: 'key' | 'passphrase' }
  /**
   * Bytes `vacuum()` would give back to the file system: the free blocks, which it moves the
   * used ones over and cuts off, less the headroom it keeps (growthThresholdPercent of the file,
   * at most one growth step) and a few blocks where free space is too scattered for whole chunks.
   */
  reclaimableBytes: number
}

/** A snapshot, as `createSnapshot` returns it. */
export interface SnapshotInfo {
  /** Unique id (never reused in this container). */
  id: number
  name: string
  /** When it was taken. */
  created: Date
  /** The commit whose state it keeps. */
  txn: number
  /** Files in that state. */
  fileCount: number
}

/** A snapshot as `listSnapshots` reports it. */
export interface SnapshotListing extends SnapshotInfo {
  /** Bytes only this snapshot holds: what deleting it frees. */
  exclusiveBytes: number
}

/** Options of {@link Cartridge.restoreSnapshot}. */
export interface RestoreOptions {
  /** First keep the state being replaced as a new snapshot with this name (so the restore can be undone). */
  saveCurrentAs?: string
}

/** Options of {@link Cartridge.recompress}. */
export interface RecompressOptions {
  /** Codec to rewrite with (default: the container's); `'none'` stores everything raw; or a codec object. */
  codec?: CodecName | Codec
  /** Zstd level (with a codec name). */
  level?: number
  onProgress?: (p: { done: number; total: number; path: string }) => void
  signal?: AbortSignal
}

/** What {@link Cartridge.recompress} did. */
export interface RecompressResult {
  /** Files rewritten. */
  files: number
  /** Stored bytes of their content before and after. */
  bytesBefore: number
  bytesAfter: number
}

/** Options of {@link Cartridge.transaction}. */
export interface TransactionOptions {
  /** Rolls the transaction back and releases the writer when it fires (see {@link Cartridge.transaction}). */
  signal?: AbortSignal
}

/** Options for {@link Cartridge.scan}. */
export interface ScanOptions {
  /** Paths fetched per step (default 1024). */
  batchSize?: number
  signal?: AbortSignal
}

/** Options of {@link Cartridge.createWriteStream}. */
export interface WriteStreamOptions {
  signal?: AbortSignal
  /**
   * `'chunks'` (default): 64 KiB chunks. `'pages'`: one 4 KiB page per chunk, the layout SQLite
   * databases in the container use (import a database file this way and it is not converted on
   * its first write).
   */
  layout?: 'chunks' | 'pages'
  /** Codec for this file instead of the container's (as in `write`); paged files are never compressed. */
  compression?: CodecName | CompressionSetting | Codec
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/** Checks a slug: lowercase letters, digits and single hyphens, 1–214 characters. */
export function validateSlug(slug: string): string {
  if (typeof slug !== 'string' || slug.length === 0 || slug.length > MAX_SLUG_BYTES || !SLUG.test(slug)) {
    throw new CartridgeError(
      ErrorCodes.INVALID_ARGUMENT,
      `invalid slug ${JSON.stringify(slug)}: use 1–${MAX_SLUG_BYTES} lowercase letters, digits and single hyphens`,
    )
  }
  return slug
}

/** The store of a container file, through the user's factory when there is one (checked: a wrong value fails clearly). */
export function openStore(options: OpenOptions, path: string, how: { create: boolean; readOnly: boolean }): PageStore {
  const factory = options.store ?? defaultStore
  if (typeof factory !== 'function') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the store option must be a function (path, options) => PageStore')
  const store = factory(path, how)
  if (store === null || typeof store !== 'object' || typeof store.read !== 'function' || typeof store.sync !== 'function') {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the store factory must return a PageStore')
  }
  return store
}
