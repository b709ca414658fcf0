import { describe, expect, it } from 'vitest'
import { seededRandom } from '@cartridge/core'
import { MemoryDatabaseStore } from './memory-database-store.js'
import { PagedFile } from './paged-file.js'

/** A plain byte-array model of one file. */
class Model {
  bytes = new Uint8Array(0)
  write(off: number, data: Uint8Array) {
    if (off + data.length > this.bytes.length) {
      const next = new Uint8Array(off + data.length)
      next.set(this.bytes)
      this.bytes = next
    }
    this.bytes.set(data, off)
  }
  truncate(size: number) {
    const next = new Uint8Array(size)
    next.set(this.bytes.subarray(0, Math.min(size, this.bytes.length)))
    this.bytes = next
  }
}

describe('PagedFile', () => {
  it('matches a byte-array model through random writes, truncations, commits and discards', () => {
    const random = seededRandom(42)
    const store = new MemoryDatabaseStore()
    let file = new PagedFile(store, '/f', '/f', undefined)
    const model = new Model()
    let committed = new Uint8Array(0)
    for (let step = 0; step < 3000; step++) {
      const r = random()
      if (r < 0.6) {
        const off = Math.floor(random() * 40_000)
        const data = new Uint8Array(1 + Math.floor(random() * 9000)).map(() => Math.floor(random() * 256))
        file.write(off, data)
        model.write(off, data)
      } else if (r < 0.7) {
        const size = Math.floor(random() * 45_000)
        file.truncate(size)
        model.truncate(size)
      } else if (r < 0.85) {
        store.commit([file.change()], false)
        file.committed()
        committed = model.bytes.slice()
        expect(Buffer.from(store.files.get('/f')!).equals(Buffer.from(committed))).toBe(true)
      } else if (r < 0.9) {
        file.discard()
        model.bytes = committed.slice()
      } else if (r < 0.95) {
        // A fresh handle sees exactly what was committed.
        file = new PagedFile(store, '/f', '/f', store.size('/f'))
        model.bytes = committed.slice()
      }
      expect(file.size).toBe(model.bytes.length)
      const off = Math.floor(random() * (model.bytes.length + 100))
      const len = 1 + Math.floor(random() * 10_000)
      const out = new Uint8Array(len)
      const got = file.read(off, len, out)
      const want = model.bytes.subarray(off, off + len)
      expect(got).toBe(want.length)
      expect(Buffer.from(out.subarray(0, got)).equals(Buffer.from(want))).toBe(true)
    }
  })
})
