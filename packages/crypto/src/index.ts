export { KEY_LENGTH, TAG_LENGTH, SHORT_TAG_LENGTH, type Aead, type Sealed } from './aead.js'
export { NodeAead } from './node-aead.js'
export { NobleAead } from './noble-aead.js'
export { defaultAead } from './default-aead.js'
export { NONCE_LENGTH, NONCE_POOL_BYTES, RandomNonces, type NonceSource } from './nonce-source.js'
export {
  DEFAULT_SCRYPT, MAX_SCRYPT_MEMORY, SALT_LENGTH, SCRYPT_LIMITS, checkKdfParams, deriveKey, newKdfParams, scryptImplementation,
  scryptMemory, type KdfParams, type ScryptCost, type ScryptImplementation,
} from './kdf.js'
export { keySourceKind, type KeySource } from './key-source.js'
export { randomDataKey } from './data-key.js'
export {
  CIPHER_AES_256_GCM, KEY_SLOT_HEADER_SIZE, KdfId, META_BODY_SIZE, META_MAGIC, META_PAGE_SIZE, PLAIN_MAJOR, PLAIN_MINOR,
  PlainMeta, SEALED_MAJOR, SEALED_MINOR, SealedMeta,
} from './sealed-meta-layout.js'
export { KeySlot, readKeySlot, type KeySlotInfo, type KeySlotOptions } from './key-slot.js'
export { openMeta, sealMeta } from './meta-seal.js'
export { PAGE_AAD_SIZE, PAGE_AAD_TAG, PAGE_SIZE, SealedPage, openPage, pageAad, sealPage } from './page-seal.js'
export { CHUNK_AAD_SIZE, CHUNK_AAD_TAG, chunkAad, openChunk, sealChunk, type ChunkBinding, type SealedChunk } from './chunk-seal.js'
export { ContainerCipher, type ChunkPlace } from './container-cipher.js'
