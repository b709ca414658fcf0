import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { FilePageStore } from '@cartridge/pager'
import { Engine } from '@cartridge/engine'
import type { EncryptionSetting } from '@cartridge/engine'
import { copyAuditLog, copyContainer, type CopyOptions } from './reseal.js'

/** Options of `enableEncryption` and `rekey`. */
export type ResealOptions = CopyOptions

/**
 * Writes a copy of `src` (the container file at `path`) sealed with `encryption` into
 * `<path>.reseal`, syncs it, and renames it over `path`: the one step that makes the new file
 * the container. The new file's writer lock is taken when it is created, so no other writer can
 * open it, and writers that opened the old file find it replaced (see `FilePageStore.open`).
 * Until the rename nothing of `src` changes; a failure or an abort removes the copy. Returns the
 * engine of the new file, open for writing.
 */
export async function resealFile(src: Engine, path: string, encryption: EncryptionSetting, options: ResealOptions, action = 'key.rekey'): Promise<Engine> {
  const lock = (src.store as { lockKind?: string }).lockKind
  if (lock !== undefined && lock !== 'os') {
    throw new CartridgeError(ErrorCodes.UNSUPPORTED, 'rewriting a container in place needs the native writer lock (the .lock-file fallback cannot pass to a new file)')
  }
  const tmp = `${path}.reseal`
  // What a crash left of an earlier attempt is not the container: drop it.
  rmSync(tmp, { force: true })
  const store = FilePageStore.open(tmp, { create: true })
  let dst: Engine | undefined
  try {
    const m = src.meta
    // The container's codec object itself: an application codec carries over as a built-in one does
    // (and a codec the container was not opened with is CARTRIDGE_UNSUPPORTED here, before anything is written).
    const codec = src.defaultCodec
    dst = Engine.create(
      store,
      {
        slug: m.slug, title: m.title, growthThresholdPercent: m.growthThresholdPercent, maxPages: m.maxPages,
        compression: codec ? { codec } : undefined,
        encryption, identity: { uuid: m.uuid, created: m.created },
      },
      src.options,
    )
    await copyContainer(src, dst, options)
    if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'aborted: the container is as it was', { cause: options.signal.reason })
    // The log comes along entry for entry (same roots), and records the rewrite in the commit that completes it.
    await copyAuditLog(src, dst)
    const d = dst
    const policy = src.storedPolicy
    if (policy) d.apply(() => d.setStoredPolicy(policy))
    d.apply(() => d.note({ action, detail: 'aes-256-gcm' }))
    dst.commit(true)
    renameSync(tmp, path)
  } catch (err) {
    store.close()
    rmSync(tmp, { force: true })
    throw err
  }
  syncDirectory(dirname(path))
  return dst
}

/** Makes a rename in `dir` durable (where the platform can sync a directory). */
function syncDirectory(dir: string): void {
  let fd = -1
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Windows cannot open a directory for syncing; NTFS journals the rename itself.
  } finally {
    if (fd >= 0) closeSync(fd)
  }
}
