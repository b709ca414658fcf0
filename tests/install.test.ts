// Installing Cartridge into another project, as the README's Install section says: every package
// packed (scripts/pack.sh), the tarballs installed together into a scratch project outside the
// workspace with npm, then used from ESM, CommonJS and TypeScript (module nodenext), and the
// `cartridge` bin run. Set CARTRIDGE_SKIP_INSTALL_TEST=1 to skip it (it compiles better-sqlite3).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const skip = process.env.CARTRIDGE_SKIP_INSTALL_TEST === '1'
const work = mkdtempSync(join(tmpdir(), 'cart-install-'))
const app = join(work, 'app')
// As a user's shell would have it: no NODE_PATH (pnpm sets one that reaches the workspace's packages).
const { NODE_PATH: _workspacePath, ...userEnv } = process.env
const env = { ...userEnv, ...(!process.env.npm_config_nodedir && existsSync('/usr/include/node/node.h') ? { npm_config_nodedir: '/usr' } : {}) }
const run = (cmd: string, args: string[], cwd = app) => execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe.skipIf(skip)('installing from packed tarballs into another project', () => {
  beforeAll(() => {
    const tarballs = join(work, 'tarballs')
    run('bash', [join(root, 'scripts', 'pack.sh'), tarballs], root)
    execFileSync('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true }))
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f))
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files])
  }, 600_000)

  it('ESM: import { Cartridge } from "cartridge", files and a SQLite table', () => {
    writeFileSync(join(app, 'esm.mjs'), `
      import { Cartridge } from 'cartridge'
      const cart = await Cartridge.create('esm', 'E', { path: './esm.cart' })
      await cart.write('/a.txt', 'from esm')
      const db = cart.sqlite('/app.db')
      db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (42)')
      console.log(await cart.readText('/a.txt'), db.prepare('SELECT x FROM t').get().x)
      await cart.close()
    `)
    expect(run('node', ['esm.mjs']).trim()).toBe('from esm 42')
  })

  it('compression and encryption work from the tarballs (Zstd through zstd-napi compiled at install, or Node\'s own)', () => {
    writeFileSync(join(app, 'sealed.mjs'), `
      import { Cartridge } from 'cartridge'
      const text = 'compress me, seal me. '.repeat(20000)
      const cart = await Cartridge.create('sealed', 'S', { path: './sealed.cart', compression: { codec: 'zstd', level: 9 }, encryption: { passphrase: 'pw', scrypt: { logN: 10, r: 8, p: 1 } } })
      await cart.write('/t.txt', text)
      const stats = await cart.contentStats()
      await cart.close()
      const wrong = await Cartridge.open('./sealed.cart', { passphrase: 'no' }).then(() => 'opened', (e) => e.code)
      const again = await Cartridge.open('./sealed.cart', { passphrase: 'pw' })
      console.log((await again.readText('/t.txt')) === text, stats.ratio > 10, wrong)
      await again.close()
    `)
    expect(run('node', ['sealed.mjs']).trim()).toBe('true true CARTRIDGE_BAD_KEY')
  })

  it('CommonJS: require("cartridge")', () => {
    writeFileSync(join(app, 'cjs.cjs'), `
      const { Cartridge, isCartridgeError } = require('cartridge')
      ;(async () => {
        const cart = await Cartridge.open('./esm.cart', { readOnly: true })
        const text = await cart.readText('/a.txt')
        const missing = await cart.read('/nope').catch((e) => isCartridgeError(e) && e.code)
        console.log(text, missing)
        await cart.close()
      })()
    `)
    expect(run('node', ['cjs.cjs']).trim()).toBe('from esm CARTRIDGE_NOT_FOUND')
  })

  it('TypeScript (module nodenext) type-checks against the shipped types and runs', () => {
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, outDir: 'out', skipLibCheck: false, types: [] },
      files: ['main.mts'],
    }))
    writeFileSync(join(app, 'main.mts'), `
      import { Cartridge, CartridgeError, ErrorCodes, type CartridgeInfo } from 'cartridge'
      const cart: Cartridge = await Cartridge.create('ts', 'T', { path: './ts.cart' })
      await cart.write('/b.bin', new Uint8Array([1, 2, 3]))
      const info: CartridgeInfo = await cart.info()
      const bytes: Uint8Array = await cart.read('/b.bin')
      const code: string = await cart.read('/none').then(() => 'read', (e: unknown) => (e instanceof CartridgeError ? e.code : 'other'))
      console.log(info.fileCount, bytes.length, code === ErrorCodes.NOT_FOUND)
      await cart.close()
    `)
    run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
    expect(run('node', [join('out', 'main.mjs')]).trim()).toBe('1 3 true')
  })

  it('without SQLite support installed (npm --omit=optional): files and the writer lock work; sqlite() says what to install', async () => {
    const lean = join(work, 'lean')
    execFileSync('mkdir', ['-p', lean])
    writeFileSync(join(lean, 'package.json'), JSON.stringify({ name: 'lean-app', version: '1.0.0', private: true }))
    const tarballs = join(work, 'tarballs')
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz') && !f.includes('-cli-')).map((f) => join(tarballs, f))
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--omit=optional', ...files], lean)
    expect(existsSync(join(lean, 'node_modules', 'better-sqlite3'))).toBe(false)
    // The addons came prebuilt inside the tarballs: nothing was compiled at install.
    for (const pkg of ['vfs', 'file-lock']) {
      expect(readdirSync(join(lean, 'node_modules', '@cartridge', pkg, 'prebuilds', `${process.platform}-${process.arch}`)).length, pkg).toBe(1)
      expect(existsSync(join(lean, 'node_modules', '@cartridge', pkg, 'build')), pkg).toBe(false)
    }
    writeFileSync(join(lean, 'lean.mjs'), `
      import { Cartridge } from 'cartridge'
      const cart = await Cartridge.create('lean', 'L', { path: './lean.cart' })
      await cart.write('/f.txt', 'files only')
      const second = await Cartridge.open('./lean.cart').then(() => 'opened', (e) => e.code)
      let sqlite
      try { cart.sqlite('/app.db'); sqlite = 'opened' } catch (e) { sqlite = e.code + ': ' + e.message }
      // Without optional packages: LZ4's platform binary (an optional package of lz4-napi) and the
      // Zstd addon are missing, so each says so; Node's own Zstd (22.15 and later) still works.
      const lz4 = await cart.write('/l.txt', 'lz4 '.repeat(1000), { compression: 'lz4' }).then(() => 'lz4 ok', (e) => e.code)
      const zstd = await cart.write('/z.txt', 'zstd '.repeat(1000), { compression: 'zstd' }).then(() => 'zstd ok', (e) => e.code)
      console.log(await cart.readText('/f.txt'))
      console.log(second)
      console.log(sqlite)
      console.log(lz4, zstd)
      await cart.close()
    `)
    const [text, second, sqlite, codecs] = run('node', ['lean.mjs'], lean).trim().split('\n')
    const builtinZstd = typeof (await import('node:zlib') as { zstdCompressSync?: unknown }).zstdCompressSync === 'function'
    expect(codecs).toBe(`CARTRIDGE_UNSUPPORTED ${builtinZstd ? 'zstd ok' : 'CARTRIDGE_UNSUPPORTED'}`)
    expect(text).toBe('files only')
    expect(second).toBe('CARTRIDGE_LOCKED')
    expect(sqlite).toMatch(/^CARTRIDGE_UNSUPPORTED: SQLite support needs better-sqlite3.*npm install better-sqlite3/)
  }, 300_000)

  it('the cartridge bin runs', () => {
    const bin = join(app, 'node_modules', '.bin', 'cartridge')
    expect(run(bin, ['--version']).trim()).toMatch(/^\d+\.\d+\.\d+/)
    expect(run(bin, ['ls', 'esm.cart', '-r']).trim().split('\n')).toEqual(['/a.txt', '/app.db'])
  })
})
