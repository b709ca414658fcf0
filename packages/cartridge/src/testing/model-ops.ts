import type { LayerSetName } from './layer-sets.js'
/**
 * The operations of the model-based test, as plain data: what the generator produces, what the
 * runner executes, and what a failing run prints. Each has a constructor with a short name so a
 * shrunk sequence reads (and pastes into a regression test) as code:
 * `[write('/a', 327_680, 3), batch([write('/a', 0, 0), del('/b')]), reopen()]`.
 */

/** A file change that a container, a transaction and a batch all accept. */
export type FileOp =
  | { t: 'write'; path: string; size: number; seed: number }
  | { t: 'delete'; path: string }
  /** `delete(path + '/')`: the whole subtree. */
  | { t: 'deleteTree'; path: string }
  | { t: 'rename'; from: string; to: string }

/** `createWriteStream(path)` fed `size` bytes of `seed` in `pieces` uneven pieces. */
export interface StreamOp {
  t: 'stream'
  path: string
  size: number
  seed: number
  pieces: number
  /** `layout: 'pages'`: 4 KiB chunks, as SQLite databases are stored. */
  pages?: boolean
}

/**
 * A snapshot named by position: the `k`-th snapshot the model holds when the operation runs (by
 * id, or by name with `byName`); past the end, one that does not exist.
 */
export interface SnapRef {
  k: number
  byName: boolean
}

/** A member of a same-tick batch: every call is made before the first is awaited. */
export type BatchMember =
  | FileOp
  | StreamOp
  /** `cart.read(path)`: must see every member called before it. */
  | { t: 'read'; path: string }
  /** `cart.createSnapshot(name)`: a commit of its own between the members before and after it. */
  | { t: 'snapshot'; name?: string }

/** One step of a sequence. */
export type Op =
  | FileOp
  | StreamOp
  /** `cart.transaction(async tx => …)`: each op awaited in turn (failures caught), then commit or a throw. */
  | { t: 'tx'; ops: FileOp[]; throwAtEnd: boolean }
  | { t: 'batch'; ops: BatchMember[] }
  | { t: 'snapshot'; name?: string }
  | { t: 'restore'; ref: SnapRef; saveAs?: string }
  | { t: 'deleteSnapshot'; ref: SnapRef }
  /** Every file of the snapshot through `cart.snapshot(ref)`, and a range of one. */
  | { t: 'readSnapshot'; ref: SnapRef }
  | { t: 'readRange'; path: string; offset: number; length: number }
  /** `count` files `${dir}/${i}` of `size` bytes (seed + i) in one same-tick batch: a catalog of many pages. */
  | { t: 'fill'; dir: string; count: number; size: number; seed: number }
  /** `count` snapshots in a row (default names): a snapshot table of several pages. */
  | { t: 'snapMany'; count: number }
  /**
   * A transaction that, after its first call, waits while the `outside` calls are made on the
   * container (they wait for the writer and apply after the transaction, in call order).
   */
  | { t: 'txWithWaiters'; ops: FileOp[]; outside: FileOp[]; throwAtEnd: boolean; abort?: boolean }
  /** A second, read-only open of the container's file (a no-op for a memory store). */
  | { t: 'openReadOnly' }
  /** With `abortAfter`, its signal fires after that many progress reports. */
  | { t: 'vacuum'; stepPages?: number; abortAfter?: number }
  | { t: 'flush' }
  /** close, then open the same bytes (memory) or file again. */
  | { t: 'reopen' }

/** How a sequence's container is made. */
export interface ModelConfig {
  /** `'memory'`: a MemoryPageStore; `'file'`: `Cartridge.create` with a temp path. */
  store: 'memory' | 'file'
  durability: 'full' | 'none'
  initialBlocks: number
  /** 0: unbounded. */
  maxBlocks: number
  growthThresholdPercent: number
  bufferPoolSize: number
  /** Codec of the container (new writes are compressed with it). */
  compression: 'none' | 'lz4' | 'zstd'
  /** Encrypted with a passphrase (testing/variants.ts). */
  encrypted: boolean
  /** Keeps an audit log from the first commit (checked against the files at the end). */
  audited: boolean
  /** The layer implementations (testing/layer-sets.ts); default the reference. */
  layers?: LayerSetName
}

export const DEFAULT_CONFIG: ModelConfig = {
  store: 'memory', durability: 'full', initialBlocks: 3, maxBlocks: 0, growthThresholdPercent: 10, bufferPoolSize: 2048, compression: 'none', encrypted: false, audited: false,
}

// ---- constructors (the vocabulary of printed sequences and regression tests) ---------------

export const write = (path: string, size: number, seed: number): FileOp => ({ t: 'write', path, size, seed })
export const del = (path: string): FileOp => ({ t: 'delete', path })
export const delTree = (path: string): FileOp => ({ t: 'deleteTree', path })
export const rename = (from: string, to: string): FileOp => ({ t: 'rename', from, to })
export const stream = (path: string, size: number, seed: number, pieces: number, options: { pages?: boolean } = {}): StreamOp =>
  options.pages ? { t: 'stream', path, size, seed, pieces, pages: true } : { t: 'stream', path, size, seed, pieces }
export const read = (path: string): BatchMember => ({ t: 'read', path })
export const tx = (ops: FileOp[], options: { throwAtEnd?: boolean } = {}): Op => ({ t: 'tx', ops, throwAtEnd: options.throwAtEnd ?? false })
export const batch = (ops: BatchMember[]): Op => ({ t: 'batch', ops })
export const snap = (name?: string): Op & BatchMember => (name === undefined ? { t: 'snapshot' } : { t: 'snapshot', name })
export const restore = (k: number, options: { byName?: boolean; saveAs?: string } = {}): Op => {
  const op: Op = { t: 'restore', ref: { k, byName: options.byName ?? false } }
  if (options.saveAs !== undefined) op.saveAs = options.saveAs
  return op
}
export const dropSnap = (k: number, options: { byName?: boolean } = {}): Op => ({ t: 'deleteSnapshot', ref: { k, byName: options.byName ?? false } })
export const readSnap = (k: number, options: { byName?: boolean } = {}): Op => ({ t: 'readSnapshot', ref: { k, byName: options.byName ?? false } })
export const readRange = (path: string, offset: number, length: number): Op => ({ t: 'readRange', path, offset, length })
export const fill = (dir: string, count: number, size: number, seed: number): Op => ({ t: 'fill', dir, count, size, seed })
export const snapMany = (count: number): Op => ({ t: 'snapMany', count })
export const txWithWaiters = (ops: FileOp[], outside: FileOp[], options: { throwAtEnd?: boolean; abort?: boolean } = {}): Op =>
  options.abort
    ? { t: 'txWithWaiters', ops, outside, throwAtEnd: options.throwAtEnd ?? false, abort: true }
    : { t: 'txWithWaiters', ops, outside, throwAtEnd: options.throwAtEnd ?? false }
export const openReadOnly = (): Op => ({ t: 'openReadOnly' })
export const vacuum = (stepPages?: number, options: { abortAfter?: number } = {}): Op => {
  const op: Op = { t: 'vacuum' }
  if (stepPages !== undefined) op.stepPages = stepPages
  if (options.abortAfter !== undefined) op.abortAfter = options.abortAfter
  return op
}
export const flush = (): Op => ({ t: 'flush' })
export const reopen = (): Op => ({ t: 'reopen' })

// ---- printing ---------------------------------------------------------------------------

const q = (s: string) =>
  `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/[\u0000-\u001f\u007f-\u009f\ufff0-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`
const num = (n: number) => (Math.abs(n) >= 10_000 ? n.toLocaleString('en-US').replace(/,/g, '_') : String(n))

function refArgs(ref: SnapRef, extra: string[] = []): string {
  const opts = [...(ref.byName ? ['byName: true'] : []), ...extra]
  return opts.length ? `${ref.k}, { ${opts.join(', ')} }` : `${ref.k}`
}

/** One operation as a constructor call. */
export function formatOp(op: Op | BatchMember): string {
  switch (op.t) {
    case 'write': return `write(${q(op.path)}, ${num(op.size)}, ${op.seed})`
    case 'delete': return `del(${q(op.path)})`
    case 'deleteTree': return `delTree(${q(op.path)})`
    case 'rename': return `rename(${q(op.from)}, ${q(op.to)})`
    case 'stream': return `stream(${q(op.path)}, ${num(op.size)}, ${op.seed}, ${op.pieces}${op.pages ? ', { pages: true }' : ''})`
    case 'read': return `read(${q(op.path)})`
    case 'tx': return `tx([${op.ops.map(formatOp).join(', ')}]${op.throwAtEnd ? ', { throwAtEnd: true }' : ''})`
    case 'batch': return `batch([${op.ops.map(formatOp).join(', ')}])`
    case 'snapshot': return op.name === undefined ? 'snap()' : `snap(${q(op.name)})`
    case 'restore': return `restore(${refArgs(op.ref, op.saveAs === undefined ? [] : [`saveAs: ${q(op.saveAs)}`])})`
    case 'deleteSnapshot': return `dropSnap(${refArgs(op.ref)})`
    case 'readSnapshot': return `readSnap(${refArgs(op.ref)})`
    case 'readRange': return `readRange(${q(op.path)}, ${num(op.offset)}, ${num(op.length)})`
    case 'fill': return `fill(${q(op.dir)}, ${op.count}, ${num(op.size)}, ${op.seed})`
    case 'snapMany': return `snapMany(${op.count})`
    case 'txWithWaiters': {
      const opts = [...(op.throwAtEnd ? ['throwAtEnd: true'] : []), ...(op.abort ? ['abort: true'] : [])]
      return `txWithWaiters([${op.ops.map(formatOp).join(', ')}], [${op.outside.map(formatOp).join(', ')}]${opts.length ? `, { ${opts.join(', ')} }` : ''})`
    }
    case 'openReadOnly': return 'openReadOnly()'
    case 'vacuum':
      if (op.abortAfter !== undefined) return `vacuum(${op.stepPages ?? 'undefined'}, { abortAfter: ${op.abortAfter} })`
      return op.stepPages === undefined ? 'vacuum()' : `vacuum(${op.stepPages})`
    case 'flush': return 'flush()'
    case 'reopen': return 'reopen()'
  }
}

/** The settings that differ from {@link DEFAULT_CONFIG}, as an object literal. */
export function formatConfig(c: ModelConfig): string {
  const parts: string[] = []
  for (const k of Object.keys(DEFAULT_CONFIG) as Array<keyof ModelConfig>) {
    if (c[k] !== DEFAULT_CONFIG[k]) parts.push(`${k}: ${typeof c[k] === 'string' ? q(c[k] as string) : c[k]}`)
  }
  if (c.layers !== undefined && c.layers !== 'reference') parts.push(`layers: ${q(c.layers)}`)
  return parts.length ? `{ ${parts.join(', ')} }` : '{}'
}

/** A sequence as a regression test to paste into model-regressions.test.ts. */
export function formatRegression(config: ModelConfig, ops: readonly Op[], title = 'TODO: what it loses'): string {
  return [
    `it(${q(title)}, async () => {`,
    `  await replay(${formatConfig(config)}, [`,
    ...ops.map((o) => `    ${formatOp(o)},`),
    '  ])',
    '})',
  ].join('\n')
}
