// What each package's npm tarball holds: its license and builds, and no tests or test helpers.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const dirs = [...readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)), join(root, 'apps', 'cli')]
  .filter((d) => {
    try {
      return !JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).private
    } catch {
      return false
    }
  })

describe('npm tarballs', () => {
  it('the repository and every package carry the MIT license', () => {
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
    for (const d of dirs) expect(JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).license, d).toBe('MIT')
  })

  it.each(dirs.map((d) => [d.slice(root.length)]))('%s ships LICENSE and its build, no tests or test helpers', (rel) => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(root, rel), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path)
    expect(files).toContain('LICENSE')
    expect(files.some((f) => f.startsWith('dist/'))).toBe(true)
    expect(files.filter((f) => /\.test\.[cm]?[jt]s$/.test(f) || f.startsWith('src/testing/'))).toEqual([])
  })
})
