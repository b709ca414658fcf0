import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CartridgeError, ErrorCodes, Policy, normalizePath } from 'cartridge'
import { withCartridge } from '../open.js'
import { println, type Io } from '../io.js'

/** A policy from a JSON file (the form `policy show` prints), naming the file on failure. */
function readPolicy(io: Io, file: string): Policy {
  const path = resolve(io.cwd, file)
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a JSON policy file`, { path, cause: err })
  }
  return Policy.fromJSON(json)
}

/** `cartridge policy set <cart> <file.json>`: stores the policy in the container (every later open enforces it). */
export async function policySet(io: Io, file: string, policyFile: string): Promise<number> {
  const policy = readPolicy(io, policyFile)
  await withCartridge(file, io, { write: true }, (cart) => cart.setPolicy(policy, { persist: true }))
  println(io.stdout, `policy ${JSON.stringify(policy.name)} set (${policy.statements.length} statements)`)
  return 0
}

/** `cartridge policy clear <cart>`: removes the stored policy (everything allowed again). */
export async function policyClear(io: Io, file: string): Promise<number> {
  await withCartridge(file, io, { write: true }, (cart) => cart.setPolicy(null, { persist: true }))
  println(io.stdout, 'policy cleared')
  return 0
}

/** `cartridge policy show <cart>`: the stored policy as JSON (nothing stored: a note on stderr, exit 0). */
export async function policyShow(io: Io, file: string): Promise<number> {
  const policy = await withCartridge(file, io, {}, async (cart) => cart.getPolicy())
  if (policy) println(io.stdout, JSON.stringify(policy.toJSON(), null, 2))
  else println(io.stderr, 'no policy: every request is allowed')
  return 0
}

/**
 * `cartridge policy test <cart> <action> <path> [--principal P] [--tag k=v] [--size n]`: the
 * decision the stored policy makes, and the statement that made it; exit 0 allowed, 1 denied.
 */
export async function policyTest(io: Io, file: string, action: string, path: string, flags: { principal?: string; tag?: string[]; size?: number; json?: boolean }): Promise<number> {
  const policy = await withCartridge(file, io, {}, async (cart) => cart.getPolicy())
  const tags: Record<string, string> = {}
  for (const t of flags.tag ?? []) {
    const eq = t.indexOf('=')
    if (eq <= 0) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `--tag takes key=value, not ${JSON.stringify(t)}`)
    tags[t.slice(0, eq)] = t.slice(eq + 1)
  }
  const principal = flags.principal ?? io.principal
  const context = { source: 'cli', ...(principal !== undefined ? { principal } : {}), ...(flags.tag ? { tags } : {}), ...(flags.size !== undefined ? { size: flags.size } : {}) }
  if (!policy) {
    const out = { allowed: true, effect: 'NoPolicy', action, path: normalizePath(path), reason: 'no policy: every request is allowed' }
    println(io.stdout, flags.json ? JSON.stringify(out) : `allowed: ${out.reason}`)
    return 0
  }
  const d = policy.evaluate({ action, path, context })
  if (flags.json) println(io.stdout, JSON.stringify(d))
  else {
    const by = d.statement ? ` by statement ${d.statement.sid !== undefined ? JSON.stringify(d.statement.sid) : `#${d.statement.index}`}` : ''
    println(io.stdout, `${d.allowed ? 'allowed' : 'denied'} (${d.effect}${by}): ${d.reason}`)
  }
  return d.allowed ? 0 : 1
}
