import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { tempDir } from './testing/helpers.js'

const tmp = tempDir('sqlite-hazard-')
afterAll(() => tmp.cleanup())
const child = fileURLToPath(new URL('./testing/sqlite-hazard-child.mjs', import.meta.url))
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))

function run(scenario: string, flags: string[] = []): { status: number | null; signal: NodeJS.Signals | null; result: any; stderr: string } {
  const p = spawnSync(process.execPath, [...flags, child, scenario, tmp.dir], { encoding: 'utf8', timeout: 60_000 })
  const line = p.stdout.trim().split('\n').pop() ?? ''
  return { status: p.status, signal: p.signal, result: line ? JSON.parse(line) : undefined, stderr: p.stderr }
}

describe.skipIf(!built)('SQLite hazards (child processes)', () => {
  it('connections and containers collected by the garbage collector do not crash the process', () => {
    const r = run('gc', ['--expose-gc'])
    expect(r.signal, r.stderr).toBeNull()
    expect(r.status, r.stderr).toBe(0)
    expect(r.result).toEqual({ ok: true, plain: 2 })
  })

  it('a worker thread gets a clean error for container databases and keeps plain SQLite and files', () => {
    const r = run('worker')
    expect(r.signal, r.stderr).toBeNull()
    expect(r.status, r.stderr).toBe(0)
    expect(r.result).toEqual({ containerDb: 'CARTRIDGE_UNSUPPORTED', file: 'yes', direct: 'SQLITE_CANTOPEN', plain: 3, mainRows: [1, 2] })
  })

  it('exiting with open databases, one mid-transaction, neither crashes nor loses committed rows', async () => {
    const r = run('exit')
    expect(r.signal, r.stderr).toBeNull()
    expect(r.status, r.stderr).toBe(0)
    const cart = await Cartridge.open(tmp.path('exit.cart'))
    for (const mode of ['atomic', 'wal'] as const) {
      const db = cart.sqlite(`/${mode}.db`, { mode })
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(100)
    }
    expect((await cart.check({ data: true })).problems).toEqual([])
    await cart.close()
  })

  it('commits made without fsync reach the operating system before they are acknowledged', async () => {
    const r = run('unsynced-exit')
    expect(r.status, r.stderr).toBe(0)
    const cart = await Cartridge.open(tmp.path('nosync.cart'))
    expect(await cart.list('/')).toEqual(['/f0', '/f1', '/f2', '/f3', '/f4', '/n.db', '/n.db-wal'])
    expect(cart.sqlite('/n.db', { mode: 'wal' }).prepare('SELECT count(*) FROM t').pluck().get()).toBe(2)
    await cart.close()
  })
})
