// Helpers shared by this package's tests (not exported from the package, not published).
import { crc32, seededBytes, setU64, viewOf } from '@cartridge/core'
import type { Aead } from './aead.js'
import { NobleAead } from './noble-aead.js'
import { NodeAead } from './node-aead.js'
import type { NonceSource } from './nonce-source.js'

/** Both implementations, for parametrised tests. */
export const aeads: Aead[] = [new NodeAead(), new NobleAead()]

/** Deterministic nonces: 12 bytes counting up from `start`, so two runs see the same sequence. */
export class CountingNonces implements NonceSource {
  constructor(private n = 1) {}
  fill(target: Uint8Array): void {
    target.fill(0, 0, 12)
    setU64(viewOf(target), 0, this.n++)
    target[11] = 0xa5
  }
}

/** Hex → bytes. */
export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}

/** A plain structure page as the pager writes it: random payload, header fields, CRC of 4..4095. */
export function plainPage(seed: number, pageNo: number, txn: number): Uint8Array {
  const page = seededBytes(4096, seed)
  const v = viewOf(page)
  v.setUint8(4, 5)
  v.setUint8(5, 2)
  v.setUint16(6, 123, true)
  setU64(v, 8, txn)
  setU64(v, 16, pageNo)
  v.setUint32(24, 3000, true)
  v.setUint32(28, 0, true)
  v.setUint32(0, crc32(page.subarray(4)), true)
  return page
}

/** A plain major-1 meta page: magic, version 1.2, page size, random body, zeros, CRC. */
export function plainMeta(seed: number): Uint8Array {
  const page = new Uint8Array(4096)
  page.set(new TextEncoder().encode('CARTRIDG'))
  const v = viewOf(page)
  v.setUint16(8, 1, true)
  v.setUint16(10, 2, true)
  v.setUint32(12, 4096, true)
  page.set(seededBytes(3936, seed), 16)
  v.setUint32(4092, crc32(page.subarray(0, 4092)), true)
  return page
}

/** A fixed 32-byte key (seeded). */
export function testKey(seed: number): Uint8Array {
  return seededBytes(32, seed)
}

/** A fixed 16-byte container id (seeded). */
export function testUuid(seed: number): Uint8Array {
  return seededBytes(16, seed)
}
