import fc from 'fast-check'
import type { BatchMember, FileOp, ModelConfig, Op, SnapRef, StreamOp } from './model-ops.js'

/**
 * fast-check arbitraries for the model-based test. Everything shrinks toward the first choice
 * of each `oneof`/`constantFrom` (small sizes, `/a`, plain writes), so a failing sequence
 * shrinks to few, short, readable steps.
 */

const KiB = 1024
const CHUNK = 64 * KiB

/**
 * File sizes by class: empty, inline (≤ 512), a few KiB, 64 KiB ± a chunk boundary, 4–5 chunks
 * (the last size with chunk records in the catalog value, and the first with a chunk map), 6–17
 * chunks, and rarely ≥ 85 chunks (a chunk map of two leaves) up to 6 MiB.
 */
export const sizeArb: fc.Arbitrary<number> = fc.oneof(
  { withCrossShrink: true },
  { weight: 24, arbitrary: fc.integer({ min: 1, max: 512 }) },
  { weight: 10, arbitrary: fc.constant(0) },
  { weight: 28, arbitrary: fc.integer({ min: 513, max: 12 * KiB }) },
  { weight: 20, arbitrary: fc.constantFrom(CHUNK, CHUNK - 1, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1, CHUNK - 4096, CHUNK + 4096) },
  { weight: 12, arbitrary: fc.integer({ min: 3 * CHUNK + 1, max: 5 * CHUNK }) },
  { weight: 4, arbitrary: fc.integer({ min: 5 * CHUNK + 1, max: 17 * CHUNK }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 85 * CHUNK, max: 86 * CHUNK }), fc.integer({ min: 86 * CHUNK, max: 6 * KiB * KiB })) },
)

/**
 * Sizes for the repeated writes inside one commit (a transaction's or a batch's "hot" path):
 * mostly several chunks, so that one commit frees chunk maps and runs and then (after a failed,
 * rolled-back call, or once the allocator wraps around the end of the file) reuses them.
 */
export const commitSizeArb: fc.Arbitrary<number> = fc.oneof(
  { withCrossShrink: true },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 * KiB }) },
  { weight: 2, arbitrary: fc.constantFrom(CHUNK, CHUNK + 1, 2 * CHUNK - 1) },
  { weight: 4, arbitrary: fc.integer({ min: 3 * CHUNK + 1, max: 5 * CHUNK + 4096 }) },
  { weight: 2, arbitrary: fc.integer({ min: 5 * CHUNK + 1, max: 12 * CHUNK }) },
)

/** Content seeds: few, so equal seeds (equal bytes) happen too. */
const seedArb = fc.integer({ min: 0, max: 999 })

/**
 * Paths of files: a small pool (collisions are the point), nested, some that are also
 * directories, and some whose UTF-8 byte order differs from JavaScript's string order.
 */
export const filePathArb = fc.constantFrom('/a', '/b', '/d/a', '/d/b', '/d/e/a', '/e', '/d', '/d/e', '/a/x', '/g/h', '/n/1', '/é', '/😀/a', '/\uffff')
/** Where renames go: the pool again plus fresh places. */
const targetPathArb = fc.oneof(filePathArb, fc.constantFrom('/f', '/g/h', '/d/f', '/m/n/o', '/n2', '/😀'))
/** Directories to delete with a trailing `/` (a file and the root included). */
const treePathArb = fc.constantFrom('/d', '/d/e', '/g', '/a', '/m', '/n', '/😀', '/')
/** Directories (and files) to rename. */
const renameFromArb = fc.oneof({ weight: 3, arbitrary: filePathArb }, { weight: 1, arbitrary: fc.constantFrom('/d', '/d/e', '/g', '/m', '/n', '/😀', '/z') })

const writeArb: fc.Arbitrary<FileOp> = fc.record({ t: fc.constant('write' as const), path: filePathArb, size: sizeArb, seed: seedArb })

export const fileOpArb: fc.Arbitrary<FileOp> = fc.oneof(
  { withCrossShrink: true },
  { weight: 10, arbitrary: writeArb },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('delete' as const), path: fc.oneof({ weight: 4, arbitrary: filePathArb }, { weight: 1, arbitrary: fc.constant('/z') }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteTree' as const), path: treePathArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('rename' as const), from: renameFromArb, to: targetPathArb }) },
)

/** Streams: sizes as for writes, pushed in 1–6 uneven pieces. */
export const streamArb: fc.Arbitrary<StreamOp> = fc
  .record({
    t: fc.constant('stream' as const), path: filePathArb, size: sizeArb, seed: seedArb, pieces: fc.integer({ min: 1, max: 6 }),
    pages: fc.oneof({ withCrossShrink: true }, { weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  })
  .map(({ pages, ...o }): StreamOp => (pages ? { ...o, pages } : o))

const snapNameArb = fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined, freq: 3 })
const snapshotArb = snapNameArb.map((name) => (name === undefined ? { t: 'snapshot' as const } : { t: 'snapshot' as const, name }))
const refArb: fc.Arbitrary<SnapRef> = fc.record({ k: fc.integer({ min: 0, max: 3 }), byName: fc.boolean() })

/**
 * A transaction: 2–6 operations, half of them writes of one path (same-path overwrites), some
 * failing (caught inside), and sometimes a throw at the end.
 */
const txArb: fc.Arbitrary<Op> = fc
  .record({
    hot: filePathArb,
    ops: fc.array(
      fc.oneof({ weight: 1, arbitrary: fileOpArb }, { weight: 1, arbitrary: fc.record({ size: commitSizeArb, seed: seedArb }) }),
      { minLength: 2, maxLength: 6 },
    ),
    throwAtEnd: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
  })
  .map(({ hot, ops, throwAtEnd }) => ({
    t: 'tx' as const,
    ops: ops.map((o): FileOp => ('t' in o ? o : { t: 'write', path: hot, size: o.size, seed: o.seed })),
    throwAtEnd,
  }))

/** A same-tick batch: 2–6 calls, mostly changes, with same-path overwrites, a read, a snapshot or a stream now and then. */
const batchArb: fc.Arbitrary<Op> = fc
  .record({
    hot: filePathArb,
    ops: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fileOpArb },
        { weight: 4, arbitrary: fc.record({ size: commitSizeArb, seed: seedArb }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('read' as const), path: filePathArb }) },
        { weight: 1, arbitrary: snapshotArb },
        { weight: 1, arbitrary: streamArb },
      ),
      { minLength: 2, maxLength: 6 },
    ),
  })
  .map(({ hot, ops }) => {
    // One stream at most: two would end in an order the calls do not fix.
    let streams = 0
    return {
      t: 'batch' as const,
      ops: ops.map((o): BatchMember => {
        if (!('t' in o)) return { t: 'write', path: hot, size: o.size, seed: o.seed }
        if (o.t === 'stream' && streams++ > 0) return { t: 'write', path: o.path, size: o.size, seed: o.seed }
        return o
      }),
    }
  })

/** Many files at once (a catalog of many pages; big directory renames and deletes after it). */
const fillArb: fc.Arbitrary<Op> = fc.record({
  t: fc.constant('fill' as const),
  dir: fc.constantFrom('/n', '/d/n', '/a'),
  count: fc.integer({ min: 10, max: 100 }),
  size: fc.oneof({ withCrossShrink: true }, { weight: 4, arbitrary: fc.integer({ min: 0, max: 600 }) }, { weight: 1, arbitrary: fc.integer({ min: 601, max: 9000 }) }),
  seed: seedArb,
})

/** A transaction with other writers waiting for it. */
const txWithWaitersArb: fc.Arbitrary<Op> = fc.record({
  t: fc.constant('txWithWaiters' as const),
  ops: fc.array(fileOpArb, { minLength: 1, maxLength: 4 }),
  outside: fc.array(fileOpArb, { minLength: 1, maxLength: 4 }),
  throwAtEnd: fc.boolean(),
  abort: fc.oneof({ withCrossShrink: true }, { weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
}).map(({ abort, ...o }): Op => (abort ? { ...o, abort } : o))

const offsetArb = fc.constantFrom(0, 1, 511, 512, 4095, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7, 4 * CHUNK, 85 * CHUNK - 3)
const lengthArb = fc.constantFrom(1, 100, 4096, CHUNK, CHUNK + 2, 3 * CHUNK, 10 * 1024 * KiB)

/** One step. `reopen: false` leaves out close + reopen (the crash harness keeps its one container). */
export function opArb(options: { reopen?: boolean } = {}): fc.Arbitrary<Op> {
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 30, arbitrary: writeArb },
    { weight: 16, arbitrary: fileOpArb },
    { weight: 9, arbitrary: txArb },
    { weight: 9, arbitrary: batchArb },
    { weight: 5, arbitrary: streamArb },
    { weight: 4, arbitrary: snapshotArb },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('restore' as const), ref: refArb, saveAs: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }) })
      .map((o) => (o.saveAs === undefined ? { t: o.t, ref: o.ref } : o)) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('deleteSnapshot' as const), ref: refArb }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('readSnapshot' as const), ref: refArb }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('readRange' as const), path: filePathArb, offset: offsetArb, length: lengthArb }) },
    { weight: 1, arbitrary: fillArb },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('snapMany' as const), count: fc.integer({ min: 8, max: 70 }) }) },
    { weight: 3, arbitrary: txWithWaitersArb },
    { weight: 1, arbitrary: fc.constant({ t: 'openReadOnly' as const }) },
    {
      weight: 3,
      arbitrary: fc
        .record({ stepPages: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }), abortAfter: fc.oneof({ withCrossShrink: true }, { weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }) })
        .map(({ stepPages, abortAfter }): Op => {
          const op: Op = { t: 'vacuum' }
          if (stepPages !== undefined) op.stepPages = stepPages
          if (abortAfter !== undefined) op.abortAfter = abortAfter
          return op
        }),
    },
    { weight: 2, arbitrary: fc.constant({ t: 'flush' as const }) },
    { weight: options.reopen === false ? 0 : 4, arbitrary: fc.constant({ t: 'reopen' as const }) },
  )
}

/** A sequence: mostly 1–4 steps, sometimes up to 10, rarely up to `maxLength` (24). */
export function sequenceArb(options: { maxLength?: number; reopen?: boolean } = {}): fc.Arbitrary<Op[]> {
  const op = opArb(options)
  const max = options.maxLength ?? 24
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 6, arbitrary: fc.array(op, { minLength: 1, maxLength: 4 }) },
    { weight: 3, arbitrary: fc.array(op, { minLength: 5, maxLength: Math.min(10, max) }) },
    { weight: 1, arbitrary: fc.array(op, { minLength: Math.min(11, max), maxLength: max, size: 'max' }) },
  )
}

/**
 * Container settings: mostly the defaults (3 pages, growing mid-commit), sometimes a small
 * `maxBlocks` (FULL in mid-commit), durability `'none'`, a tiny cache, or a real file.
 */
export const configArb: fc.Arbitrary<ModelConfig> = fc
  .record({
    store: fc.oneof({ withCrossShrink: true }, { weight: 19, arbitrary: fc.constant('memory' as const) }, { weight: 1, arbitrary: fc.constant('file' as const) }),
    durability: fc.constantFrom('full' as const, 'none' as const),
    initialBlocks: fc.oneof({ withCrossShrink: true }, { weight: 6, arbitrary: fc.constant(3) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 96 }) }),
    maxBlocks: fc.oneof(
      { withCrossShrink: true },
      { weight: 5, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: 8, max: 48 }) },
      { weight: 1, arbitrary: fc.integer({ min: 49, max: 400 }) },
    ),
    growthThresholdPercent: fc.oneof({ withCrossShrink: true }, { weight: 6, arbitrary: fc.constant(10) }, { weight: 1, arbitrary: fc.constantFrom(0, 50, 90) }),
    bufferPoolSize: fc.oneof({ withCrossShrink: true }, { weight: 4, arbitrary: fc.constant(2048) }, { weight: 1, arbitrary: fc.constant(16) }),
    compression: fc.oneof(
      { withCrossShrink: true },
      { weight: 2, arbitrary: fc.constant('none' as const) },
      { weight: 1, arbitrary: fc.constantFrom('lz4' as const, 'zstd' as const) },
    ),
    encrypted: fc.oneof({ withCrossShrink: true }, { weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    audited: fc.oneof({ withCrossShrink: true }, { weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  })
  .map((c) => ({
    ...c, maxBlocks: c.maxBlocks === 0 ? 0 : Math.max(c.maxBlocks, c.initialBlocks),
    // A log needs a few pages of its own plus its share of the delete reserve: not in the tiniest containers.
    audited: c.audited && (c.maxBlocks === 0 || Math.max(c.maxBlocks, c.initialBlocks) >= 16),
  }))
