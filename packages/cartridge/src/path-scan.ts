import { directoryPrefix, normalizePath } from '@cartridge/core'
import type { ScanOptions } from './cartridge-options.js'
import { throwIfAborted, type CartridgeCore } from './cartridge-core.js'
import type { Access } from './file-ops.js'

/**
 * See `Cartridge.scan`: the paths under `prefix` in byte order, a batch of catalog keys per look
 * at the container (bounded memory); each batch is read after the writes issued before it, and
 * only paths `access` lets the caller list are yielded.
 */
export async function* scanPaths(core: CartridgeCore, access: Access, prefix: string, options: ScanOptions): AsyncGenerator<string> {
  const p = normalizePath(prefix)
  const batch = options.batchSize ?? 1024
  const dir = directoryPrefix(p)
  if (p !== '/' && access.allows('list', p) && (await core.view((e, at) => e.files.record(p, at) !== undefined))) yield p
  let from = dir
  let skipFirst = false
  for (;;) {
    throwIfAborted(options.signal)
    const keys = await core.view((e, at) => {
      const out: string[] = []
      for (const [k] of e.catalog.entries({ prefix: dir, from, at })) {
        if (skipFirst && k === from) continue
        out.push(k)
        if (out.length >= batch) break
      }
      return out
    })
    for (const k of keys) if (access.allows('list', k)) yield k
    if (keys.length < batch) return
    from = keys[keys.length - 1]
    skipFirst = true
  }
}
