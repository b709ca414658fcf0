import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Cartridge, Engram, generateSigningKey } from './index.js'
import { bytes, readAll, sameFiles, tempDir } from './testing/helpers.js'

// CARTRIDGE_SKIP_SQLITE: scripts/node-versions.sh runs this file under a Node the workspace's better-sqlite3 was not built for.
const withSqlite = process.env.CARTRIDGE_SKIP_SQLITE !== '1'

const hasSqlite3 = withSqlite && (() => {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
})()

describe('freezing a container to an engram', () => {
  for (const encrypted of [false, true]) {
    it(`freeze → open → every file byte-identical (SQLite included) → thaw equals the source${encrypted ? ' (from an encrypted container: a plain engram)' : ''}`, async () => {
      const tmp = tempDir()
      try {
        const keys = await generateSigningKey()
        const cart = await Cartridge.create('src', 'Source', {
          path: tmp.path('src.cart'), compression: { codec: 'zstd' },
          ...(encrypted ? { encryption: { passphrase: 'p', scrypt: { logN: 10, r: 8, p: 1 } } } : {}),
        })
        for (let i = 0; i < 20; i++) await cart.write(`/data/${i}.bin`, bytes([10, 700, 70_000, 300_000][i % 4], i))
        await cart.write('/empty', new Uint8Array(0))
        if (withSqlite) {
          const db = cart.sqlite('/app.db')
          db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('victor'), ('whiskey')")
          db.close()
        }
        await cart.createSnapshot('v1')
        await cart.write('/after-snapshot.txt', 'not in v1')
        const seen: number[] = []
        const summary = await cart.freezeToEngram(tmp.path('live.eng'), { secretKey: keys.secretKey, onProgress: (p) => seen.push(p.bytesDone) })
        expect(seen.length).toBeGreaterThan(0)
        await cart.freezeToEngram(tmp.path('v1.eng'), { secretKey: keys.secretKey, snapshot: 'v1', compression: 'lz4' })
        const live = await readAll(cart)
        await cart.close()
        expect(summary.fileCount).toBe(live.size)
        const eng = await Engram.open(tmp.path('live.eng'), { publicKey: keys.publicKey })
        expect(eng.manifest).toMatchObject({ slug: 'src', title: 'Source', fileCount: live.size })
        const got = new Map<string, Uint8Array>()
        for (const p of await eng.list('/')) got.set(p, await eng.read(p))
        expect(sameFiles(got, live)).toBe(true)
        await eng.close()
        if (hasSqlite3) {
          const e2 = await Engram.open(tmp.path('live.eng'), { publicKey: keys.publicKey })
          writeFileSync(tmp.path('out.db'), await e2.read('/app.db'))
          await e2.close()
          expect(execFileSync('sqlite3', [tmp.path('out.db'), 'SELECT group_concat(x) FROM t'], { encoding: 'utf8' }).trim()).toBe('victor,whiskey')
        }
        const v1 = await Engram.open(tmp.path('v1.eng'), { publicKey: keys.publicKey })
        expect(await v1.exists('/after-snapshot.txt')).toBe(false)
        expect(v1.manifest.source?.snapshot).toBe('v1')
        await v1.close()
        expect((await Engram.verify(tmp.path('live.eng'), keys.publicKey)).valid).toBe(true)
        if (encrypted) {
          // The engram is plain: its content is readable without the container's passphrase.
          expect(readFileSync(tmp.path('live.eng')).includes('after-snapshot')).toBe(true)
        }
        const thawed = await Cartridge.fromEngram(tmp.path('live.eng'), 'copy', { path: tmp.path('copy.cart'), publicKey: keys.publicKey })
        expect(sameFiles(await readAll(thawed), live)).toBe(true)
        expect((await thawed.info()).title).toBe('Source')
        if (withSqlite) expect(thawed.sqlite('/app.db').prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 })
        await thawed.close()
        const other = await generateSigningKey()
        await expect(Cartridge.fromEngram(tmp.path('live.eng'), 'nope', { path: tmp.path('nope.cart'), publicKey: other.publicKey })).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED' })
      } finally {
        tmp.cleanup()
      }
    })
  }

  it('an aborted freeze leaves no file behind', async () => {
    const tmp = tempDir()
    try {
      const keys = await generateSigningKey()
      const cart = await Cartridge.create('a', 'A', { path: tmp.path('a.cart') })
      for (let i = 0; i < 8; i++) await cart.write(`/f${i}`, bytes(2_000_000, i))
      const ac = new AbortController()
      await expect(cart.freezeToEngram(tmp.path('a.eng'), { secretKey: keys.secretKey, signal: ac.signal, onProgress: (p) => p.bytesDone > 3_000_000 && ac.abort() })).rejects.toMatchObject({ code: 'CARTRIDGE_ABORTED' })
      const { readdirSync } = await import('node:fs')
      expect(readdirSync(tmp.dir).filter((f) => f.includes('.eng'))).toEqual([])
      await cart.write('/still', 'writable')
      await cart.close()
    } finally {
      tmp.cleanup()
    }
  })
})
