import { FaultyPageStore, MemoryPageStore, type CrashMode, type PageStore } from '@cartridge/pager'
import { Cartridge } from '../cartridge.js'
import { type CreateOptions } from '../cartridge-options.js'

/**
 * One random operation of a crash trial: applies it to `cart` and returns the state it leaves.
 * Before it starts, it calls `plan` with that state (once per commit it makes, in order, when it
 * makes more than one), so a trial knows what a commit cut short, or an unsynced commit, may have left.
 */
export type CrashOp<S> = (cart: Cartridge, state: S, random: () => number, seed: number, plan: (s: S) => void) => Promise<S>

/** Options of {@link crashTrial}. */
export interface CrashTrialOptions<S> {
  random: () => number
  mode: CrashMode
  durability: 'full' | 'none'
  slug: string
  initial: S
  op: CrashOp<S>
  /** Base of the seeds passed to `op` (warm-up operations get `seed + i`, the others `seed + 10 + i`). */
  seed: number
  /** Operations committed before the fault is armed. */
  warmup: number
  /** The power fails within this many writes (and syncs) of arming. */
  armWithin: number
  /** More settings of the container (compression, …); they apply when it is reopened too. */
  options?: CreateOptions
  /** Wraps the fault-injecting store (and the store of the crash image) in the store under test. */
  wrap?: (store: PageStore) => PageStore
}

/** What a crash trial left: whether the power failed, the states the container may reopen at, and the reopened container. */
export interface CrashTrialResult<S> {
  crashed: boolean
  /** The last durable state and every state committed after it, plus the one cut short. */
  allowed: S[]
  reopened: Cartridge
}

/**
 * Runs random operations on a container over a {@link FaultyPageStore} until the power fails
 * (at a write or during a sync), then reopens the container from the crash image `mode` gives.
 */
export async function crashTrial<S>(o: CrashTrialOptions<S>): Promise<CrashTrialResult<S>> {
  const store = new FaultyPageStore(undefined, { random: o.random, crashInSync: true })
  const wrap = o.wrap ?? ((s: PageStore) => s)
  const cart = await Cartridge.fromStore(wrap(store), { ...o.options, create: { slug: o.slug }, durability: o.durability })
  let state = o.initial
  for (let i = 0; i < o.warmup; i++) state = await o.op(cart, state, o.random, o.seed + i, () => {})
  await cart.flush()
  let allowed = [state]
  store.failAfter(1 + Math.floor(o.random() * o.armWithin))
  for (let i = 0; i < 30 && !store.crashed; i++) {
    // The states the operation's commits leave, in order (an operation may commit more than once).
    const planned: S[] = []
    try {
      state = await o.op(cart, state, o.random, o.seed + 10 + i, (s) => planned.push(s))
      // Without syncs every commit since the last durable one may be what a crash leaves, those
      // an operation made on its way included.
      if (o.durability === 'full') allowed = [state]
      else allowed.push(...planned.slice(0, -1), state)
      if (o.durability === 'none' && o.random() < 0.2) {
        await cart.flush()
        allowed = [state]
      }
    } catch (err) {
      if (!store.crashed) throw err
      // A commit cut short was never acknowledged; it may still have landed whole, when its
      // writes all survived ('random') or its torn sectors held what they already held.
      allowed.push(...planned)
    }
  }
  const crashed = store.crashed
  store.cut()
  const reopened = await Cartridge.fromStore(wrap(new MemoryPageStore(store.crashImage(o.mode))), { ...o.options })
  return { crashed, allowed, reopened }
}
