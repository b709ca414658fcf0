import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { MAX_TITLE_BYTES, type PageStore } from '@cartridge/pager'
import { Engine, keySource } from '@cartridge/engine'
import type { KeySource } from '@cartridge/crypto'
import { openStore, validateSlug, type CreateOptions, type OpenOptions } from './cartridge-options.js'

// How a container comes to be: created in a new file, opened from an existing one, or over any
// page store. Each gives the engine, the file and the key it was opened with, for the public
// `Cartridge` to wrap.

/** An engine ready for a `Cartridge`: where its file is (undefined for a custom store) and the key it was opened with. */
export interface OpenedEngine {
  engine: Engine
  path: string | undefined
  keys: KeySource | undefined
}

/** See `Cartridge.create`: a new container file; nothing is left behind when it fails. */
export function createContainer(slug: string, title: string | undefined, options: CreateOptions): OpenedEngine {
  validateSlug(slug)
  const t = title ?? slug
  if (new TextEncoder().encode(t).length > MAX_TITLE_BYTES) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `title longer than ${MAX_TITLE_BYTES} bytes`)
  }
  const path = resolve(options.path ?? `${slug}.cart`)
  const store = openStore(options, path, { create: true, readOnly: false })
  try {
    return { engine: createEngine(store, slug, t, options), path, keys: keySource(options.encryption ?? {}) }
  } catch (err) {
    store.close()
    rmSync(path, { force: true })
    throw err
  }
}

/** See `Cartridge.open`. */
export function openContainer(file: string, options: OpenOptions): OpenedEngine {
  const path = resolve(file)
  const store = openStore(options, path, { create: false, readOnly: options.readOnly === true })
  try {
    return { engine: Engine.open(store, options), path, keys: keySource(options) }
  } catch (err) {
    store.close()
    throw err
  }
}

/** See `Cartridge.fromStore`. */
export function containerOfStore(store: PageStore, options: CreateOptions & { create?: { slug: string; title?: string } }): OpenedEngine {
  if (options.create) {
    validateSlug(options.create.slug)
    const engine = createEngine(store, options.create.slug, options.create.title ?? options.create.slug, options)
    return { engine, path: undefined, keys: keySource(options.encryption ?? {}) }
  }
  return { engine: Engine.open(store, options), path: undefined, keys: keySource(options) }
}

/** A new engine in the empty `store`, with its audit log on from the start when the options ask for it. */
function createEngine(store: PageStore, slug: string, title: string, options: CreateOptions): Engine {
  const engine = Engine.create(
    store,
    {
      slug, title, initialPages: options.initialBlocks, growthThresholdPercent: options.growthThresholdPercent, maxPages: options.maxBlocks,
      compression: options.compression, encryption: options.encryption,
    },
    options,
  )
  startAuditLog(engine, options)
  return engine
}

/** Switches the audit log on in a new container, as its second commit, when the options ask for it. */
function startAuditLog(engine: Engine, options: CreateOptions): void {
  if (!options.auditLog) return
  const reads = typeof options.auditLog === 'object' && options.auditLog.reads === true
  engine.apply(() => engine.audit.enable(reads))
  engine.commit(engine.options.durability === 'full')
}
