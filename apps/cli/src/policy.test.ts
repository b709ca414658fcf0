import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cartridge } from 'cartridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './test-io.js'

let dir: string
const run = (...argv: string[]) => runCli(dir, argv)

const policy = {
  version: 1,
  name: 'confined',
  statements: [
    { sid: 'public', effect: 'Allow', actions: ['*'], resources: ['/public', '/public/**'] },
    { sid: 'private', effect: 'Deny', actions: ['*'], resources: ['/private', '/private/**'], conditions: { StringNotEquals: { principal: 'admin' } } },
    { sid: 'admin', effect: 'Allow', actions: ['*'], resources: ['/', '/**'], conditions: { StringEquals: { principal: 'admin' } } },
  ],
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cartridge-cli-policy-'))
  const cart = await Cartridge.create('vault', 'vault', { path: join(dir, 'vault.cart') })
  await cart.write('/public/a.txt', 'public a')
  await cart.write('/private/secret.txt', 'TOP SECRET')
  await cart.close()
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy))
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...policy, statements: [{ effect: 'Allow', actions: ['read'], resources: ['/**'], conditions: { StringMaybe: { principal: 'x' } } }] }))
  writeFileSync(join(dir, 'local.txt'), 'PWNED')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('cartridge policy', () => {
  it('set stores it, show prints it, test explains a decision; an invalid policy is refused', async () => {
    const bad = await run('policy', 'set', 'vault.cart', 'bad.json')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('CARTRIDGE_INVALID_ARGUMENT')
    expect((await run('policy', 'set', 'vault.cart', 'policy.json')).code).toBe(0)
    expect(JSON.parse((await run('--as', 'admin', 'policy', 'show', 'vault.cart')).stdout)).toMatchObject({ version: 1, name: 'confined' })
    // Testing reads the policy, which is policy:admin; the decision is for --principal.
    expect((await run('policy', 'test', 'vault.cart', 'read', '/public/a.txt')).stderr).toContain('CARTRIDGE_ACCESS_DENIED')
    const denied = await run('--as', 'admin', 'policy', 'test', 'vault.cart', 'read', '/public/../private/secret.txt', '--principal', 'mallory')
    expect(denied.code).toBe(1)
    expect(denied.stdout).toMatch(/^denied \(Deny by statement "private"\)/)
    const allowed = await run('--as', 'admin', 'policy', 'test', 'vault.cart', 'write', '/public/new.txt', '--json')
    expect(JSON.parse(allowed.stdout)).toMatchObject({ allowed: true, effect: 'Allow', path: '/public/new.txt' })
    // Another process (the CLI) enforces the stored policy, for the principal --as names.
    expect((await run('--as', 'mallory', 'cat', 'vault.cart', '/public/a.txt')).stdout).toBe('public a')
    const cat = await run('--as', 'mallory', 'cat', 'vault.cart', '/private/secret.txt')
    expect(cat.code).toBe(1)
    expect(cat.stderr).toContain('CARTRIDGE_ACCESS_DENIED')
    expect((await run('--as', 'admin', 'cat', 'vault.cart', '/private/secret.txt')).stdout).toBe('TOP SECRET')
    // Changing the policy is itself an action under it.
    expect((await run('--as', 'mallory', 'policy', 'clear', 'vault.cart')).stderr).toContain('CARTRIDGE_ACCESS_DENIED')
  })

  it('the bypass corpus through the CLI commands: nothing private is read, listed, changed or moved', async () => {
    const corpus = JSON.parse(readFileSync(fileURLToPath(new URL('../../../packages/cartridge/src/testing/bypass-corpus.json', import.meta.url)), 'utf8')) as { cases: Array<{ id: number; input: string }> }
    const bypasses: string[] = []
    // Every input by default; the reruns under other Node versions take every fifth.
    const stride = Number(process.env.CARTRIDGE_CLI_CORPUS_STRIDE ?? 1)
    for (const c of corpus.cases.filter((_, i) => i % stride === 0)) {
      if (c.input.startsWith('-') || c.input.includes('\u0000')) continue // not passable as an argument
      const as = ['--as', 'mallory']
      const cat = await run(...as, 'cat', 'vault.cart', c.input)
      if (cat.stdout.includes('TOP SECRET')) bypasses.push(`#${c.id} cat`)
      const ls = await run(...as, 'ls', 'vault.cart', c.input, '-r', '--json')
      const listed = ls.code === 0 ? (JSON.parse(ls.stdout) as Array<{ path: string }>).map((e) => e.path) : []
      if (listed.some((p) => p === '/private' || p.startsWith('/private/')) || ls.stdout.includes('TOP SECRET')) bypasses.push(`#${c.id} ls`)
      if (c.id % 3 === 0) {
        const out = join(dir, `got-${c.id}`)
        await run(...as, 'get', 'vault.cart', c.input, '--out', out)
        if (existsSync(out) && readFileSync(out, 'utf8').includes('TOP SECRET')) bypasses.push(`#${c.id} get`)
        rmSync(out, { recursive: true, force: true })
      }
      await run(...as, 'rm', 'vault.cart', c.input, '-r')
      await run(...as, 'mv', 'vault.cart', c.input, '/public/stolen')
      await run(...as, 'put', 'vault.cart', 'local.txt', '--to', c.input)
      const check = await run('--as', 'admin', 'cat', 'vault.cart', '/private/secret.txt')
      if (check.stdout !== 'TOP SECRET') bypasses.push(`#${c.id} changed the secret`)
      const list = await run('--as', 'admin', 'ls', 'vault.cart', '/', '-r', '--json')
      const paths = (JSON.parse(list.stdout) as Array<{ path: string }>).map((e) => e.path)
      if (paths.some((p) => p.startsWith('/private/') && p !== '/private/secret.txt')) bypasses.push(`#${c.id} created a private file`)
      for (const p of paths) if (p === '/public/stolen') await run('--as', 'admin', 'rm', 'vault.cart', p)
    }
    expect(bypasses).toEqual([])
  }, 300_000)
})
