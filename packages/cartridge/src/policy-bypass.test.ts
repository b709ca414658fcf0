import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Action, Cartridge, Effect, Policy, normalizePath } from './index.js'
import { tempDir } from './testing/helpers.js'

/**
 * The bypass corpus (testing/bypass-corpus.json, ≥ 300 path inputs: dot segments, doubled and
 * trailing slashes, backslashes, percent-encoding, Unicode look-alike separators and dots,
 * NFC/NFD, NUL and control characters, case, very long paths, glob metacharacters in real names)
 * through every entry point of the API, as a principal the policy confines to /public. After each
 * input the private files must be as they were, no listing may have shown one, no read may have
 * returned private bytes, and nothing outside /private may hold them. A bypass is any of those.
 */
interface Case {
  id: number
  family: string
  input: string
  note?: string
}
const corpus = JSON.parse(readFileSync(new URL('./testing/bypass-corpus.json', import.meta.url), 'utf8')) as { cases: Case[] }

const tmp = tempDir('bypass-')
afterAll(() => tmp.cleanup())

const PRIVATE: Record<string, string> = {
  '/private/secret.txt': 'TOP SECRET 1',
  '/private/other.txt': 'TOP SECRET 2',
  '/private/sub/deep.txt': 'TOP SECRET 3',
  '/private/caf\u00e9.txt': 'TOP SECRET 4',
  '/private/*': 'TOP SECRET 5',
}
const PUBLIC: Record<string, string> = {
  '/public/a.txt': 'public a',
  '/public/sub/b.txt': 'public b',
  '/public/a*b.txt': 'literal star',
  '/public/[x].txt': 'literal brackets',
  '/public/{a,b}.txt': 'literal braces',
}
const secrets = Object.values(PRIVATE)
const leaks = (bytes: Uint8Array | string) => {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1')
  return secrets.some((s) => text.includes(s)) || text.includes('TOP SECRET')
}

const policy = new Policy('confined', [
  { sid: 'public', effect: Effect.Allow, actions: [Action.All], resources: ['/public', '/public/**'] },
  { sid: 'private', effect: Effect.Deny, actions: [Action.All], resources: ['/private', '/private/**'] },
  { sid: 'test-admin', effect: Effect.Allow, actions: [Action.PolicyAdmin], resources: ['/'], conditions: { StringEquals: { principal: 'test-admin' } } },
])

let cart: Cartridge
let attacker: Cartridge
/** The test's own hands: may lift the policy to look at everything and put things back. */
let admin: Cartridge

beforeAll(async () => {
  cart = await Cartridge.create('bypass', 'bypass', { path: tmp.path('bypass.cart') })
  for (const [p, d] of Object.entries({ ...PRIVATE, ...PUBLIC })) await cart.write(p, d)
  await cart.createSnapshot('snap')
  await cart.setPolicy(policy)
  attacker = cart.as({ principal: 'attacker', tags: { team: 'outside' } })
  admin = cart.as({ principal: 'test-admin' })
})
afterAll(async () => {
  await cart?.close()
})

/** The normalized form of an input, or undefined when the normalizer refuses it. */
function normal(input: string): string | undefined {
  try {
    return normalizePath(input)
  } catch {
    return undefined
  }
}

const isPrivate = (p: string) => p === '/private' || p.startsWith('/private/')

/** Runs `fn`, returning its value or the error's code (every failure must be a coded error). */
async function attempt<T>(fn: () => Promise<T> | T): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  try {
    return { ok: true, value: await fn() }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code !== 'string' || !code.startsWith('CARTRIDGE_')) throw err
    return { ok: false, code }
  }
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const piece of stream) parts.push(Buffer.from(piece as Uint8Array))
  return Buffer.concat(parts)
}

/** What the container holds, read without the policy (the test's own view). */
async function snapshotOfFiles(): Promise<Map<string, string>> {
  await admin.setPolicy(null)
  try {
    const out = new Map<string, string>()
    for (const p of await cart.list('/')) out.set(p, Buffer.from(await cart.read(p)).toString('latin1'))
    return out
  } finally {
    await admin.setPolicy(policy)
  }
}

describe(`access-control bypass corpus (${corpus.cases.length} inputs × every entry point)`, () => {
  it('has at least 300 cases in every family the issue names', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(300)
    const families = new Set(corpus.cases.map((c) => c.family))
    for (const f of ['dot-segments', 'slashes', 'backslash', 'percent', 'lookalike-slash', 'lookalike-dot', 'fullwidth', 'unicode-normalization', 'control', 'case', 'long', 'glob-metacharacters']) expect(families.has(f), f).toBe(true)
  })

  it('no input reaches a private file through any entry point', async () => {
    const bypasses: string[] = []
    const counts: Record<string, number> = {}
    const tally = (k: string) => (counts[k] = (counts[k] ?? 0) + 1)
    for (const c of corpus.cases) {
      const where = `#${c.id} ${c.family} ${JSON.stringify(c.input).slice(0, 60)}`
      const n = normal(c.input)
      const bad = (what: string) => bypasses.push(`${where}: ${what}`)
      // Reads.
      for (const [name, read] of [
        ['read', () => attacker.read(c.input)],
        ['readText', () => attacker.readText(c.input)],
        ['read range', () => attacker.read(c.input, { offset: 0, length: 100 })],
        ['stream', () => drain(attacker.createReadStream(c.input))],
        ['tx.read', () => attacker.transaction((tx) => tx.read(c.input))],
        ['snapshot.read', () => attacker.snapshot('snap').read(c.input)],
      ] as const) {
        const r = await attempt(read as () => Promise<Uint8Array | string | Buffer>)
        tally(`${name} ${r.ok ? 'ok' : r.code}`)
        if (r.ok && leaks(r.value)) bad(`${name} returned private bytes`)
      }
      // Existence and metadata: no oracle for private paths.
      for (const [name, probe] of [
        ['exists', () => attacker.exists(c.input)],
        ['metadata', () => attacker.metadata(c.input)],
        ['tx.exists', () => attacker.transaction((tx) => tx.exists(c.input))],
        ['snapshot.exists', () => attacker.snapshot('snap').exists(c.input)],
      ] as const) {
        const r = await attempt(probe as () => Promise<unknown>)
        tally(`${name} ${r.ok ? 'ok' : r.code}`)
        if (r.ok && n !== undefined && isPrivate(n)) bad(`${name} answered for a private path`)
      }
      // Listings.
      for (const [name, listing] of [
        ['list', () => attacker.list(c.input)],
        ['readdir', async () => (await attacker.readdir(c.input)).map((d) => `${n ?? ''}/${d.name}`)],
        ['scan', async () => {
          const out: string[] = []
          for await (const p of attacker.scan(c.input)) out.push(p)
          return out
        }],
        ['snapshot.list', () => attacker.snapshot('snap').list(c.input)],
      ] as const) {
        const r = await attempt(listing as () => Promise<string[]>)
        tally(`${name} ${r.ok ? 'ok' : r.code}`)
        if (r.ok && r.value.some((p) => isPrivate(normal(p.replace(/^\/\//, '/')) ?? p) || leaks(p))) bad(`${name} showed a private path`)
      }
      // Changes.
      for (const [name, change] of [
        ['write', () => attacker.write(c.input, 'PWNED')],
        ['delete', () => attacker.delete(c.input)],
        ['delete tree', () => attacker.delete(c.input.endsWith('/') ? c.input : `${c.input}/`)],
        ['rename from', () => attacker.rename(c.input, '/public/stolen')],
        ['rename to', () => attacker.rename('/public/a.txt', c.input)],
        ['tx.write', () => attacker.transaction((tx) => tx.write(c.input, 'PWNED'))],
        ['tx.delete', () => attacker.transaction((tx) => tx.delete(c.input))],
        ['tx.rename', () => attacker.transaction((tx) => tx.rename(c.input, '/public/stolen-tx'))],
        ['stream write', () => new Promise<void>((resolve, reject) => {
          try {
            const ws = attacker.createWriteStream(c.input)
            ws.once('error', reject)
            ws.end('PWNED', (err?: Error | null) => (err ? reject(err) : resolve()))
          } catch (err) {
            reject(err)
          }
        })],
        ['snapshot.write', () => attacker.snapshot('snap').write(c.input, 'PWNED')],
      ] as const) {
        const r = await attempt(change as () => Promise<unknown>)
        tally(`${name} ${r.ok ? 'ok' : r.code}`)
      }
      if (process.env.CARTRIDGE_SKIP_SQLITE !== '1') {
        const r = await attempt(() => attacker.sqlite(c.input, { readonly: true }))
        tally(`sqlite ${r.ok ? 'ok' : r.code}`)
        if (r.ok) {
          if (n !== undefined && isPrivate(n)) bad('sqlite opened a private path')
          r.value.close()
        }
      }
      // Nothing private changed, and nothing private got out.
      const files = await snapshotOfFiles()
      for (const [p, d] of Object.entries(PRIVATE)) if (files.get(p) !== d) bad(`${p} was changed or removed`)
      for (const [p, d] of files) {
        if (isPrivate(p) && !(p in PRIVATE)) bad(`${p} was created`)
        if (!isPrivate(p) && leaks(d)) bad(`${p} holds private bytes`)
      }
      // Put /public back as it was, so each input starts from the same state.
      await admin.setPolicy(null)
      for (const p of files.keys()) if (!isPrivate(p) && !(p in PUBLIC)) await cart.delete(p)
      for (const [p, d] of Object.entries(PUBLIC)) if (files.get(p) !== d) await cart.write(p, d)
      await admin.setPolicy(policy)
    }
    console.log(`bypass corpus: ${corpus.cases.length} inputs; outcomes ${JSON.stringify(counts)}`)
    expect(bypasses).toEqual([])
    // The corpus must reach the policy, not only the path normalizer.
    expect(counts['read CARTRIDGE_ACCESS_DENIED']).toBeGreaterThan(50)
    expect(counts['read CARTRIDGE_INVALID_PATH']).toBeGreaterThan(20)
    expect(counts['write ok']).toBeGreaterThan(20)
  }, 600_000)
})
