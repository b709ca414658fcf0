import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The layering rules of DESIGN.md §2, checked on the sources: no file imports itself through a
// chain of others (type-only imports included: a cycle of types is a cycle of concepts), and no
// package depends on a package that depends back on it.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function sources(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sources(p))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Every specifier imported or re-exported by a source file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2])
}

/** Package directory name → its npm name, for the packages of this repository. */
function packageNames(): Map<string, string> {
  const names = new Map<string, string>()
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { name: string }
    names.set(pkg.name, dir)
  }
  return names
}

/** The first cycle found in `graph` (as a list of nodes, first = last), or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>() // 1: on the current path, 2: done
  const path: string[] = []
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1)
    path.push(n)
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) return [...path.slice(path.indexOf(m)), m]
      if (state.get(m) === undefined) {
        const found = visit(m)
        if (found) return found
      }
    }
    path.pop()
    state.set(n, 2)
    return undefined
  }
  for (const n of graph.keys()) {
    if (state.get(n) !== undefined) continue
    const found = visit(n)
    if (found) return found
  }
  return undefined
}

describe('import graph', () => {
  const names = packageNames()

  it('finds a cycle when there is one (the checker itself)', () => {
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a'])
    expect(findCycle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toBeUndefined()
  })

  it('has no cycle between the files of any package', () => {
    const graph = new Map<string, string[]>()
    for (const dir of names.values()) {
      for (const file of sources(join(root, 'packages', dir, 'src'))) {
        const local = importsOf(file)
          .filter((s) => s.startsWith('.'))
          .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')))
        graph.set(file, local)
      }
    }
    expect(graph.size).toBeGreaterThan(100)
    const cycle = findCycle(graph)
    expect(cycle?.map((f) => relative(root, f))).toBeUndefined()
  })

  it('has no cycle between packages, and every package import is a declared dependency', () => {
    const graph = new Map<string, string[]>()
    for (const [name, dir] of names) {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
      const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
      const used = new Set<string>()
      for (const file of sources(join(root, 'packages', dir, 'src'))) {
        for (const s of importsOf(file)) {
          const target = s.startsWith('@cartridge/') ? s.split('/').slice(0, 2).join('/') : s === 'cartridge' ? 'cartridge' : undefined
          if (target === undefined || target === name) continue
          used.add(target)
          expect(declared.has(target), `${relative(root, file)} imports ${target}, not a dependency of ${name}`).toBe(true)
        }
      }
      // Tests may use upper layers (the container suite runs on a whole container); sources may not.
      const sourceDeps = new Set<string>()
      for (const file of sources(join(root, 'packages', dir, 'src'))) {
        if (file.endsWith('.test.ts')) continue
        for (const s of importsOf(file)) {
          const target = s.startsWith('@cartridge/') ? s.split('/').slice(0, 2).join('/') : s === 'cartridge' ? 'cartridge' : undefined
          if (target !== undefined && target !== name && used.has(target)) sourceDeps.add(target)
        }
      }
      graph.set(name, [...sourceDeps])
    }
    expect(findCycle(graph)).toBeUndefined()
  })
})
