import { TEST_ENCRYPTION, TEST_PASSPHRASE } from './variants.js'
import { MemoryPageStore } from '@cartridge/pager'
import { Cartridge } from '../cartridge.js'
import { defaultStore, type OpenOptions, type StoreFactory } from '../cartridge-options.js'
import { layerCompression, layerOptions, layerSet, wrapStore } from './layer-sets.js'
import { tempDir } from './helpers.js'
import { mismatch } from './model-compare.js'
import type { ModelConfig } from './model-ops.js'
import { describeError, isFull, observe } from './model-outcomes.js'

/** A container under test. `reopen` is missing where a harness owns the container (crash trials). */
export interface Target {
  cart: Cartridge
  config: ModelConfig
  /** The container's file, for a file store. */
  path?: string
  /** What opening the container again needs (keys, layers); a read-only open adds `readOnly`. */
  openOptions?: OpenOptions
  reopen?: () => Promise<void>
  dispose?: () => Promise<void>
}

let fileCounter = 0

/** A fresh container as `config` says, with `reopen` (close, then open the same bytes or file). */
export async function openTarget(config: ModelConfig): Promise<Target> {
  const layers = layerSet(config.layers)
  const create = {
    durability: config.durability, initialBlocks: config.initialBlocks, maxBlocks: config.maxBlocks,
    growthThresholdPercent: config.growthThresholdPercent, bufferPoolSize: config.bufferPoolSize,
    compression: layerCompression(layers, config.compression),
    ...(config.encrypted ? { encryption: TEST_ENCRYPTION } : {}),
    ...(config.audited ? { auditLog: true } : {}),
  }
  const keyOptions = config.encrypted ? { passphrase: TEST_PASSPHRASE } : {}
  const layered = { ...layerOptions(layers), ...(layers.wrap ? { store: ((p, how) => wrapStore(layers, defaultStore(p, how))) satisfies StoreFactory } : {}) }
  Object.assign(create, layered)
  const reopenOptions = { durability: config.durability, bufferPoolSize: config.bufferPoolSize, ...keyOptions, ...layered }
  const fullOK = config.maxBlocks > 0
  const closeIt = async (cart: Cartridge) => {
    const got = await observe(cart.close())
    if (!got.ok && !(fullOK && isFull(got))) mismatch(`close(): ${describeError(got.error)}`)
  }
  const afterOpen = (cart: Cartridge) => {
    if (cart.recovery) mismatch(`reopened after a clean close with a recovery note: ${JSON.stringify(cart.recovery)}`)
  }
  if (config.store === 'file') {
    const tmp = tempDir('cart-model-')
    const path = tmp.path(`m${fileCounter++}.cart`)
    const t: Target = {
      cart: await Cartridge.create('model', 'model', { ...create, path }),
      config,
      path,
      openOptions: reopenOptions,
      reopen: async () => {
        await closeIt(t.cart)
        t.cart = await Cartridge.open(path, reopenOptions)
        afterOpen(t.cart)
      },
      dispose: async () => {
        await t.cart.close().catch(() => {})
        tmp.cleanup()
      },
    }
    return t
  }
  let store = new MemoryPageStore()
  const t: Target = {
    cart: await Cartridge.fromStore(wrapStore(layers, store), { ...create, create: { slug: 'model' } }),
    config,
    reopen: async () => {
      await closeIt(t.cart)
      store = new MemoryPageStore(store.snapshot())
      t.cart = await Cartridge.fromStore(wrapStore(layers, store), reopenOptions)
      afterOpen(t.cart)
    },
    dispose: async () => {
      await t.cart.close().catch(() => {})
    },
  }
  return t
}
