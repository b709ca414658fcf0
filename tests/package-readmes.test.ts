// Checks the README of every package in packages/: that it exists with the sections every
// package README has, that its links resolve, and that every ```ts example runs as written
// (through vitest, so `cartridge` and `@cartridge/<pkg>` resolve to the sources) and is valid
// JavaScript for this Node (`node --check`), as tests/readme.test.ts does for the root README.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const packagesDir = join(root, 'packages')
const packages = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(packagesDir, d.name, 'package.json')))
  .map((d) => d.name)
  .sort()
const snippetDir = join(root, 'tests', '.package-readmes')
const work = mkdtempSync(join(tmpdir(), 'cart-package-readmes-'))
afterAll(() => {
  rmSync(work, { recursive: true, force: true })
  rmSync(snippetDir, { recursive: true, force: true })
})

/** The sections every package README has, in this order, after its `# <package name>` title. */
const SECTIONS = ['## Interface', '## Errors', '## Spec']
/** Languages a fenced block may have: `ts` blocks run; the others are read, never run. */
const FENCES = new Set(['ts', 'js', 'text', 'sh', 'json'])
/** What a runnable example may import. */
const IMPORTABLE = /^(?:node:[a-z_/]+|cartridge|@cartridge\/[a-z-]+)$/

const readmePath = (pkg: string) => join(packagesDir, pkg, 'README.md')
const readme = (pkg: string) => (existsSync(readmePath(pkg)) ? readFileSync(readmePath(pkg), 'utf8') : '')
const fences = (text: string) => [...text.matchAll(/^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm)].map((m) => ({ lang: m[1].trim(), code: m[2] }))
const tsBlocks = (pkg: string) => fences(readme(pkg)).filter((b) => b.lang === 'ts').map((b) => b.code)

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
}

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```[ \t]*$/gm, '')
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1])))
}

describe('package READMEs', () => {
  it('finds the packages', () => {
    expect(packages.length).toBeGreaterThanOrEqual(14)
  })

  describe.each(packages)('%s', (pkg) => {
    it('has a README titled with the package name, with the standard sections, of a readable length', () => {
      expect(existsSync(readmePath(pkg)), `packages/${pkg}/README.md is missing`).toBe(true)
      const text = readme(pkg)
      const name = JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8')).name as string
      expect(text.split('\n')[0]).toBe(`# ${name}`)
      const lines = text.split('\n')
      let last = -1
      for (const section of SECTIONS) {
        const at = lines.findIndex((l) => l.trim() === section)
        expect(at, `${pkg}: no "${section}" section`).toBeGreaterThan(last)
        last = at
      }
      // The opening paragraph says what the package is before any section starts.
      const intro = lines.slice(1, lines.findIndex((l) => l.startsWith('## '))).join(' ').trim()
      expect(intro.length, `${pkg}: the opening paragraph is too short`).toBeGreaterThan(200)
      expect(lines.length).toBeGreaterThanOrEqual(50)
      expect(lines.length).toBeLessThanOrEqual(180)
      // The Spec section links to the spec (or says why none applies, with a link all the same).
      const spec = text.slice(text.indexOf('\n## Spec'))
      expect(spec).toMatch(/\]\(\.\.\/\.\.\/spec\/[A-Z]+\.md/)
    })

    it('has at least one runnable example, and code blocks only of the known kinds', () => {
      const blocks = fences(readme(pkg))
      for (const b of blocks) expect(FENCES.has(b.lang), `${pkg}: a block marked "${b.lang}"`).toBe(true)
      expect(tsBlocks(pkg).length).toBeGreaterThanOrEqual(1)
    })

    it('imports only public entry points and Node built-ins in its examples', () => {
      for (const code of tsBlocks(pkg)) {
        for (const m of code.matchAll(/(?:^|\n)\s*import\s[^'"]*?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
          const spec = m[1] ?? m[2]
          expect(spec, `${pkg}: example imports ${spec}`).toMatch(IMPORTABLE)
        }
      }
    })

    it('has links that resolve, anchors included', () => {
      const text = readme(pkg).replace(/^```[\s\S]*?^```[ \t]*$/gm, '')
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]
        if (/^[a-z]+:/.test(link)) continue
        const [target, anchor] = link.split('#')
        const file = target === '' ? readmePath(pkg) : resolve(dirname(readmePath(pkg)), target)
        expect(existsSync(file), `${pkg}: link ${link}`).toBe(true)
        if (anchor !== undefined) {
          expect(file.endsWith('.md'), `${pkg}: anchor on a non-Markdown link ${link}`).toBe(true)
          expect(anchorsIn(file).has(anchor), `${pkg}: no heading for #${anchor} in ${target || 'README.md'}`).toBe(true)
        }
      }
    })

    tsBlocks(pkg).forEach((code, i) => {
      // Under another Node (scripts/node-versions.sh) better-sqlite3 is built for the first one: SQLite examples wait for the install test there.
      const needsSqlite = /\.sqlite\(|better-sqlite3|@cartridge\/vfs/.test(code)
      it.skipIf(needsSqlite && process.env.CARTRIDGE_SKIP_SQLITE === '1')(`example ${i} runs and leaves nothing in its working directory`, async () => {
        mkdirSync(snippetDir, { recursive: true })
        const file = join(snippetDir, `${pkg}-${i}.ts`)
        writeFileSync(file, code)
        const dir = join(work, `${pkg}-${i}`)
        mkdirSync(dir, { recursive: true })
        const cwd = process.cwd()
        process.chdir(dir)
        try {
          await import(file)
        } finally {
          process.chdir(cwd)
        }
        expect(readdirSync(dir), `${pkg} example ${i} wrote into the current directory`).toEqual([])
      })

      // The examples must run as plain JavaScript, not only through a TypeScript transform.
      it(`example ${i} is valid JavaScript for this Node`, () => {
        mkdirSync(snippetDir, { recursive: true })
        const file = join(snippetDir, `${pkg}-${i}.mjs`)
        writeFileSync(file, code)
        expect(() => execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' })).not.toThrow()
      })
    })
  })
})
