import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './test-io.js'

let dir: string
const run = (...argv: string[]) => runCli(dir, argv)
const lines = (text: string) => text.split('\n').filter(Boolean)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cartridge-cli-audit-'))
  writeFileSync(join(dir, 'a.txt'), 'first')
  writeFileSync(join(dir, 'b.txt'), 'second')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('cartridge audit', () => {
  it('create --audit logs every change; audit lists, filters and prints JSON lines', async () => {
    expect((await run('create', 'log', '--audit')).code).toBe(0)
    expect((await run('put', 'log.cart', 'a.txt', 'b.txt')).code).toBe(0)
    expect((await run('mv', 'log.cart', '/a.txt', '/c.txt')).code).toBe(0)
    expect((await run('rm', 'log.cart', '/b.txt')).code).toBe(0)
    const all = await run('audit', 'log.cart')
    expect(all.code).toBe(0)
    expect(lines(all.stdout).map((l) => l.trim().split(/\s+/)[4])).toEqual(['audit.enable', 'write', 'write', 'rename', 'delete'])
    const json = await run('audit', 'log.cart', '--json', '--path', '/a.txt')
    const entries = lines(json.stdout).map((l) => JSON.parse(l) as { index: number; action: string; path: string; target?: string; sha256?: string })
    expect(entries.map((e) => e.action)).toEqual(['write', 'rename'])
    expect(entries[0].sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(entries[1]).toMatchObject({ path: '/a.txt', target: '/c.txt' })
    const writes = await run('audit', 'log.cart', '--json', '--action', 'write', '--from', '2')
    expect(lines(writes.stdout).map((l) => JSON.parse(l).index)).toEqual([2])
    const future = await run('audit', 'log.cart', '--since', '2999-01-01T00:00:00Z')
    expect(future.stdout).toBe('')
    const bad = await run('audit', 'log.cart', '--since', 'yesterday-ish')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('CARTRIDGE_INVALID_ARGUMENT')
  })

  it('--verify passes, checks a kept head and a checkpoint, and chains rotated archives', async () => {
    expect((await run('audit', 'head', 'log.cart', '-o', 'head.json')).code).toBe(0)
    expect(JSON.parse(readFileSync(join(dir, 'head.json'), 'utf8'))).toMatchObject({ size: 5, enabled: true })
    expect((await run('keygen', 'k')).code).toBe(0)
    expect((await run('audit', 'checkpoint', 'log.cart', '--key', 'k.key', '-o', 'cp.json')).code).toBe(0)
    const ok = await run('audit', 'log.cart', '--verify', '--trusted', 'head.json', 'cp.json', '--pub', 'k.pub')
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^valid: 6 entries checked/)
    const rotated = await run('audit', 'rotate', 'log.cart', 'arch.eng', '--key', 'k.key', '--json')
    expect(JSON.parse(rotated.stdout)).toMatchObject({ base: 0, size: 6 })
    expect((await run('put', 'log.cart', 'a.txt')).code).toBe(0)
    const chained = await run('audit', 'log.cart', '--verify', '--archive', 'arch.eng', '--pub', 'k.pub', '--json')
    expect(JSON.parse(chained.stdout)).toMatchObject({ valid: true, base: 6, size: 8 })
    // Another key did not sign the archive: invalid, exit 1.
    expect((await run('keygen', 'other')).code).toBe(0)
    const wrong = await run('audit', 'log.cart', '--verify', '--archive', 'arch.eng', '--pub', 'other.pub')
    expect(wrong.code).toBe(1)
  })

  it('a head that the log no longer extends fails --verify with exit 1', async () => {
    writeFileSync(join(dir, 'forged-head.json'), JSON.stringify({ size: 7, root: 'ab'.repeat(32) }))
    const r = await run('audit', 'log.cart', '--verify', '--trusted', 'forged-head.json')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('INVALID')
  })

  it('a container without a log says so', async () => {
    expect((await run('create', 'plain')).code).toBe(0)
    const r = await run('audit', 'plain.cart')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('CARTRIDGE_NOT_FOUND')
    expect((await run('audit', 'enable', 'plain.cart', '--reads')).code).toBe(0)
    expect((await run('audit', 'head', 'plain.cart', '--json')).stdout).toContain('"reads":true')
  })
})
