import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededBytes } from '@cartridge/core'
import { Engram, generateSigningKey, writeEngram, type EngramSourceFile, type SigningKeyPair } from './index.js'

const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))
const FILES = 1024 // × 1 MiB: a 1 GiB engram

/**
 * Remote reads against a real HTTP server on loopback: nginx serving the engram file, as a CDN
 * or an object store would (`.ci/run` installs nginx when it is missing).
 */
describe.skipIf(!nginx)('engrams over HTTP range requests (nginx on loopback)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engram-http-'))
  let server: ChildProcess | undefined
  let base = ''
  let keys: SigningKeyPair

  beforeAll(async () => {
    keys = await generateSigningKey()
    const files = (async function* (): AsyncGenerator<EngramSourceFile> {
      for (let i = 0; i < FILES; i++) {
        const data = seededBytes(1 << 20, i)
        yield { path: `/data/${String(i).padStart(4, '0')}.bin`, size: data.length, created: 0, modified: 0, chunks: async function* () { yield data } }
      }
    })()
    await writeEngram(join(dir, 'big.eng'), files, { secretKey: keys.secretKey, compression: 'none', manifest: { slug: 'big', title: 'Big', created: new Date(0).toISOString() } })
    for (let attempt = 0; attempt < 5 && !base; attempt++) {
      const port = 20_000 + Math.floor(Math.random() * 30_000)
      writeFileSync(join(dir, 'nginx.conf'), `
        ${process.getuid?.() === 0 ? 'user root;' : ''}
        daemon off; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')};
        events { worker_connections 64; }
        http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
          server { listen 127.0.0.1:${port}; root ${dir}; } }`)
      if (spawnSync(nginx!, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' }).status !== 0) continue
      server = spawn(nginx!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
      for (let i = 0; i < 50; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/big.eng`, { method: 'HEAD' }).then((r) => r.ok, () => false)
        if (ok) {
          base = `http://127.0.0.1:${port}`
          break
        }
        await new Promise((r) => setTimeout(r, 100))
      }
      if (!base) server.kill()
    }
    expect(base).not.toBe('')
  }, 300_000)

  afterAll(() => {
    server?.kill()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reading one 1 MiB file of a 1 GiB engram transfers under 2 MiB, verified', async () => {
    const eng = await Engram.open(`${base}/big.eng`, keys)
    expect(eng.manifest.fileCount).toBe(FILES)
    const data = await eng.read('/data/0777.bin')
    expect(Buffer.from(data).equals(Buffer.from(seededBytes(1 << 20, 777)))).toBe(true)
    expect(eng.bytesRead).toBeLessThan(2 * (1 << 20))
    console.log(`one 1 MiB file of a 1 GiB engram over HTTP: ${eng.bytesRead} bytes transferred`)
    const part = await eng.read('/data/0003.bin', { offset: 100_000, length: 10 })
    expect(part).toEqual(seededBytes(1 << 20, 3).subarray(100_000, 100_010))
    await eng.close()
  })

  it('a wrong key or a missing file fails with a code, over HTTP too', async () => {
    const other = await generateSigningKey()
    await expect(Engram.open(`${base}/big.eng`, { publicKey: other.publicKey })).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED' })
    await expect(Engram.open(`${base}/missing.eng`, keys)).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
  })
})
