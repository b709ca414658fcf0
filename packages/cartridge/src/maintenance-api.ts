import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_SIZE } from '@cartridge/pager'
import {
  checkEngine, contentStats, vacuumEngine, type CheckReport, type ContentStats, type VacuumOptions, type VacuumResult,
} from '@cartridge/engine'
import { Action } from '@cartridge/iam'
import type { CartridgeInfo } from './cartridge-options.js'
import { closedError, type CartridgeCore } from './cartridge-core.js'

// The container-wide operations of `Cartridge`: what it holds and takes, making commits durable,
// checking its structure, and giving free space back to the file system.

/** See `Cartridge.info`. */
export async function containerInfo(core: CartridgeCore): Promise<CartridgeInfo> {
  core.allow(Action.Metadata)
  return core.view((e) => {
    const { totalPages, freePages } = e.alloc
    return {
      slug: e.meta.slug, title: e.meta.title, path: core.path, sizeBytes: totalPages * 4096, totalBlocks: totalPages, freeBlocks: freePages,
      usedBlocks: totalPages - freePages, fileCount: e.meta.fileCount, freePercentage: Math.round((freePages / totalPages) * 10000) / 100,
      txn: e.meta.txn, durability: e.options.durability, created: new Date(e.meta.created), snapshots: e.snapshots.length,
      reclaimableBytes: Math.max(0, freePages - e.vacuumHeadroom) * PAGE_SIZE, compression: e.compression,
      ...(e.encryption ? { encryption: e.encryption } : {}),
    }
  })
}

/** See `Cartridge.contentStats`. */
export async function storedContentStats(core: CartridgeCore, options: { signal?: AbortSignal }): Promise<ContentStats> {
  core.allow(Action.Metadata)
  return core.view((e) => contentStats(e, options.signal))
}

/** See `Cartridge.flush`. */
export async function flush(core: CartridgeCore): Promise<void> {
  if (core.closed) throw closedError()
  await core.queue.settled()
  if (core.engine.store.readOnly) return
  await core.queue.exclusive(async () => core.queue.flushNow(true))
}

/** See `Cartridge.check`. */
export async function check(core: CartridgeCore, options: { data?: boolean }): Promise<CheckReport> {
  core.allow(Action.ContainerAdmin)
  if (core.closed) throw closedError()
  await core.queue.settled()
  return core.queue.exclusive(async () => checkEngine(core.engine, options))
}

/** See `Cartridge.vacuum`: holds the writer throughout, yielding to the event loop between steps. */
export async function vacuum(core: CartridgeCore, options: VacuumOptions): Promise<VacuumResult> {
  core.allow(Action.Vacuum)
  if (core.closed) throw closedError()
  if (core.engine.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
  return core.queue.exclusive(async () => {
    core.refuseWithDatabases('vacuum')
    core.refuseWithWriters('vacuum')
    return core.asWhile(() => vacuumEngine({ engine: core.engine, pause: () => new Promise((r) => setImmediate(r)) }, options))
  })
}
