// Runs every example in the README: TypeScript blocks through vitest (so `cartridge` resolves to
// the sources), and `cartridge …` shell blocks through the built CLI.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```(ts|sh)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }))
const snippetDir = join(root, 'tests', '.readme')
const work = mkdtempSync(join(tmpdir(), 'cart-readme-'))
const cli = join(root, 'apps', 'cli', 'dist', 'index.js')
afterAll(() => {
  rmSync(work, { recursive: true, force: true })
  rmSync(snippetDir, { recursive: true, force: true })
})

describe('README examples', () => {
  it('has examples to run', () => {
    expect(blocks.filter((b) => b.lang === 'ts').length).toBeGreaterThanOrEqual(2)
  })

  blocks.forEach((block, i) => {
    if (block.lang !== 'ts') return
    it(`TypeScript example ${i} runs`, async () => {
      mkdirSync(snippetDir, { recursive: true })
      const file = join(snippetDir, `example-${i}.ts`)
      writeFileSync(file, block.code)
      const dir = join(work, `ts-${i}`)
      mkdirSync(dir, { recursive: true })
      const cwd = process.cwd()
      process.chdir(dir)
      try {
        await import(file)
      } finally {
        process.chdir(cwd)
      }
    })
  })

  // The README's code must run as plain JavaScript on the oldest supported Node, not only
  // through a TypeScript transform (which would hide, for example, `await using` on Node 20).
  it('every TypeScript example is also valid JavaScript for this Node', () => {
    mkdirSync(snippetDir, { recursive: true })
    blocks.forEach((block, i) => {
      if (block.lang !== 'ts') return
      const file = join(snippetDir, `syntax-${i}.mjs`)
      writeFileSync(file, block.code)
      expect(() => execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' }), `example ${i}`).not.toThrow()
    })
  })

  const cliBlocks = blocks.filter((b) => b.lang === 'sh' && b.code.trim().startsWith('cartridge '))
  it.skipIf(!existsSync(cli))('CLI examples run', () => {
    expect(cliBlocks.length).toBeGreaterThan(0)
    const dir = join(work, 'cli')
    mkdirSync(join(dir, 'photos'), { recursive: true })
    writeFileSync(join(dir, 'photos', 'cat.jpg'), new Uint8Array(3000).fill(7))
    writeFileSync(join(dir, 'readme.txt'), 'hello')
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({
      version: 1, name: 'readme', statements: [
        { effect: 'Allow', actions: ['read', 'list', 'metadata'], resources: ['/**'] },
        { effect: 'Allow', actions: ['*'], resources: ['/', '/**'], conditions: { StringEquals: { principal: 'admin' } } },
      ],
    }))
    for (const block of cliBlocks) {
      for (const line of block.code.split('\n')) {
        const cmd = line.replace(/\s+#.*$/, '').trim()
        if (!cmd) continue
        const args = [...cmd.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1)
        execFileSync(process.execPath, [cli, ...args], { cwd: dir, stdio: 'pipe', env: { ...process.env, VAULT_PASS: 'a passphrase for the README' } })
      }
    }
    expect(readFileSync(join(dir, 'cat.jpg'))).toEqual(Buffer.from(new Uint8Array(3000).fill(7)))
  })
})
