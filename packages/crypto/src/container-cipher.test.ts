import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ContainerCipher, KeySlot, NobleAead, NodeAead, defaultAead, randomDataKey, type KdfParams } from './index.js'
import { CountingNonces, plainMeta, plainPage, testUuid } from './test-fixtures.js'

const params = (): KdfParams => ({ kind: 'scrypt', logN: 10, r: 8, p: 1, salt: new Uint8Array(randomBytes(32)) })

describe('ContainerCipher', () => {
  it('creates with a passphrase and reopens from the sealed meta page alone', () => {
    const dataKey = randomDataKey()
    const uuid = testUuid(50)
    const header = new KeySlot().wrapDataKey(dataKey, { passphrase: 'swordfish' }, params())
    const writer = new ContainerCipher(dataKey, uuid)
    expect(writer.aead.name).toBe(defaultAead().name)
    const meta = writer.sealMeta(plainMeta(3), header)
    const page = writer.sealPage(plainPage(4, 12, 3))
    const content = new Uint8Array(randomBytes(65536))
    const chunk = writer.sealChunk(content, { chunkIndex: 0, logicalLength: 65536, codec: 0 })

    // A reader in another process: passphrase → data key → meta → pages and chunks.
    for (const aead of [new NodeAead(), new NobleAead()]) {
      const key = new KeySlot({ aead }).unwrapDataKey(meta, { passphrase: 'swordfish' })
      const reader = new ContainerCipher(key, uuid, aead)
      expect(reader.openMeta(meta)).toEqual(plainMeta(3))
      expect(reader.openPage(page, 12, 3)).toEqual(plainPage(4, 12, 3))
      expect(reader.openPage(page, 12, 4)).toBeUndefined()
      expect(reader.openChunk(chunk.ciphertext, chunk.nonce, chunk.tag, { chunkIndex: 0, logicalLength: 65536, codec: 0 })).toEqual(content)
      expect(reader.openChunk(chunk.ciphertext, chunk.nonce, chunk.tag, { chunkIndex: 1, logicalLength: 65536, codec: 0 })).toBeUndefined()
    }
    // Another container (uuid) with the same key opens nothing.
    const stranger = new ContainerCipher(dataKey, testUuid(51))
    expect(stranger.openPage(page, 12, 3)).toBeUndefined()
    expect(stranger.openChunk(chunk.ciphertext, chunk.nonce, chunk.tag, { chunkIndex: 0, logicalLength: 65536, codec: 0 })).toBeUndefined()
  })

  it('produces identical bytes through node:crypto and noble with the same nonce source', () => {
    const dataKey = randomDataKey(), uuid = testUuid(52)
    const a = new ContainerCipher(dataKey, uuid, new NodeAead(), new CountingNonces())
    const b = new ContainerCipher(dataKey, uuid, new NobleAead(), new CountingNonces())
    const header = new KeySlot().wrapDataKey(dataKey, { key: randomDataKey() })
    expect(a.sealMeta(plainMeta(1), header)).toEqual(b.sealMeta(plainMeta(1), header))
    expect(a.sealPage(plainPage(2, 3, 4))).toEqual(b.sealPage(plainPage(2, 3, 4)))
    const c = new Uint8Array(randomBytes(4096))
    expect(a.sealChunk(c, { chunkIndex: 3, logicalLength: 9000, codec: 2 })).toEqual(b.sealChunk(c, { chunkIndex: 3, logicalLength: 9000, codec: 2 }))
  })

  it('copies its key and uuid, and opens nothing after destroy()', () => {
    const dataKey = randomDataKey(), uuid = testUuid(53)
    const cipher = new ContainerCipher(dataKey, uuid)
    const sealed = cipher.sealPage(plainPage(5, 6, 7))
    dataKey.fill(0)
    uuid.fill(0)
    expect(cipher.openPage(sealed, 6, 7)).toEqual(plainPage(5, 6, 7))
    cipher.destroy()
    expect(cipher.openPage(sealed, 6, 7)).toBeUndefined()
  })

  it('refuses a data key or uuid of the wrong size', () => {
    expect(() => new ContainerCipher(new Uint8Array(16), testUuid(1))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => new ContainerCipher(randomDataKey(), new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
  })

  it('makes random 32-byte data keys', () => {
    const a = randomDataKey(), b = randomDataKey()
    expect(a.length).toBe(32)
    expect(a).not.toEqual(b)
  })
})
