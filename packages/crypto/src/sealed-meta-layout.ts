import { utf8 } from '@cartridge/core'

/** Bytes of a meta page, sealed or plain. */
export const META_PAGE_SIZE = 4096
/** The 8 magic bytes opening every meta page: `CARTRIDG`. */
export const META_MAGIC = utf8('CARTRIDG')
/** Format major of a sealed (encrypted) meta page. */
export const SEALED_MAJOR = 2
/** Format minor a sealed meta page is written with. */
export const SEALED_MINOR = 0
/** Format major of the plain meta page a sealed one decrypts to. */
export const PLAIN_MAJOR = 1
/** Format minor written into the reconstructed plain meta page. */
export const PLAIN_MINOR = 2
/** Cipher id of AES-256-GCM (byte 16). */
export const CIPHER_AES_256_GCM = 1
/** KDF ids (byte 17): the user's raw 256-bit key, or scrypt of a passphrase. */
export const KdfId = { RAW_KEY: 0, SCRYPT: 1 } as const
/** Bytes of the key-slot header (the clear part of a sealed meta page, and the body's AAD). */
export const KEY_SLOT_HEADER_SIZE = 128
/** Bytes of the plain page's body (16..3952) that a sealed page encrypts. */
export const META_BODY_SIZE = 3936

/**
 * Byte offsets in a sealed meta page (little-endian integers):
 *
 * ```
 * 0    8  magic "CARTRIDG"          64  12 wrapNonce
 * 8    2  u16 major = 2             76  32 wrapped data key (AAD = bytes 0..63)
 * 10   2  u16 minor = 0            108  16 wrapTag
 * 12   4  u32 pageSize = 4096      124   4 reserved, zero
 * 16   1  u8 cipher = 1            128  12 bodyNonce
 * 17   1  u8 kdf (0 raw, 1 scrypt) 140 3936 body ciphertext (AAD = bytes 0..127)
 * 18   3  u8 logN, r, p            4076 16 bodyTag
 * 21  11  reserved, zero           4092  4 u32 CRC-32 of bytes 0..4091
 * 32  32  salt
 * ```
 */
export const SealedMeta = {
  magic: 0, major: 8, minor: 10, pageSize: 12, cipher: 16, kdf: 17, logN: 18, r: 19, p: 20, salt: 32,
  wrapAadEnd: 64, wrapNonce: 64, wrappedKey: 76, wrapTag: 108, reserved: 124,
  bodyNonce: 128, body: 140, bodyTag: 4076, checksum: 4092,
} as const

/** Byte offsets in the plain (major 1) meta page that matter here. */
export const PlainMeta = { major: 8, minor: 10, pageSize: 12, body: 16, bodyEnd: 16 + META_BODY_SIZE, checksum: 4092 } as const
