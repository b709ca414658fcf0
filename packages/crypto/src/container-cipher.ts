import type { Aead } from './aead.js'
import { KEY_LENGTH } from './aead.js'
import { openChunk, sealChunk, type ChunkBinding, type SealedChunk } from './chunk-seal.js'
import { defaultAead } from './default-aead.js'
import { openMeta, sealMeta } from './meta-seal.js'
import { RandomNonces, type NonceSource } from './nonce-source.js'
import { openPage, sealPage } from './page-seal.js'
import { requireBytes } from './require-bytes.js'

/** Where a chunk sits; the container id comes from the {@link ContainerCipher}. */
export type ChunkPlace = Omit<ChunkBinding, 'uuid'>

/**
 * Everything the engine seals or opens with one container's data key: structure pages, content
 * chunks and meta pages. Holds the data key, the container id, the AES-GCM implementation and a
 * nonce pool, so the engine keeps one object per open container.
 */
export class ContainerCipher {
  /** The AES-GCM implementation in use. */
  readonly aead: Aead
  private readonly dataKey: Uint8Array
  private readonly uuid: Uint8Array
  private readonly nonces: NonceSource

  /**
   * @param dataKey the container's 32-byte data key (copied)
   * @param uuid the container id (16 bytes, copied), bound into every page and chunk
   * @param aead default {@link defaultAead}
   * @param nonces default a fresh {@link RandomNonces}; tests inject fixed nonces
   */
  constructor(dataKey: Uint8Array, uuid: Uint8Array, aead: Aead = defaultAead(), nonces: NonceSource = new RandomNonces()) {
    requireBytes(dataKey, KEY_LENGTH, 'data key')
    requireBytes(uuid, 16, 'container uuid')
    this.dataKey = dataKey.slice()
    this.uuid = uuid.slice()
    this.aead = aead
    this.nonces = nonces
  }

  /** See {@link sealPage}. */
  sealPage(plain: Uint8Array, out?: Uint8Array): Uint8Array {
    return sealPage(plain, this.uuid, this.dataKey, this.aead, this.nonces, out)
  }

  /** See {@link openPage}: `undefined` when the page does not authenticate as `pageNo` born in `txn`. */
  openPage(sealed: Uint8Array, pageNo: number, txn: number, out?: Uint8Array): Uint8Array | undefined {
    return openPage(sealed, pageNo, txn, this.uuid, this.dataKey, this.aead, out)
  }

  /** See {@link sealChunk}. */
  sealChunk(plain: Uint8Array, place: ChunkPlace, out?: Uint8Array): SealedChunk {
    return sealChunk(plain, { ...place, uuid: this.uuid }, this.dataKey, this.aead, this.nonces, out)
  }

  /** See {@link openChunk}: `undefined` when the chunk does not authenticate at `place`. */
  openChunk(ciphertext: Uint8Array, nonce: Uint8Array, tag: Uint8Array, place: ChunkPlace, out?: Uint8Array): Uint8Array | undefined {
    return openChunk(ciphertext, nonce, tag, { ...place, uuid: this.uuid }, this.dataKey, this.aead, out)
  }

  /** See {@link sealMeta}; `header` comes from {@link KeySlot.wrapDataKey} for this data key. */
  sealMeta(plain: Uint8Array, header: Uint8Array): Uint8Array {
    return sealMeta(plain, header, this.dataKey, this.aead, this.nonces)
  }

  /** See {@link openMeta}. */
  openMeta(sealed: Uint8Array): Uint8Array | undefined {
    return openMeta(sealed, this.dataKey, this.aead)
  }

  /** Overwrites this object's copy of the data key; it seals and opens nothing afterwards. */
  destroy(): void {
    this.dataKey.fill(0)
  }
}
