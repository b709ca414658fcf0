import { createHash } from 'node:crypto'
import { directoryPrefix } from '@cartridge/core'
import type { Cartridge } from '../cartridge.js'

/** Path → SHA-256 (hex) of the content, or `'?'` where the log records no hash (database pages). */
export type ReplayedFiles = Map<string, string>

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/**
 * Rebuilds the container's files from its audit log alone (writes with their hashes, deletes,
 * renames, snapshot create/restore/delete), for a container whose log was on from its first
 * commit. If every operation has its entry and every entry its operation, this equals the files.
 */
export async function replayAudit(cart: Cartridge): Promise<ReplayedFiles> {
  let model: ReplayedFiles = new Map()
  const snapshots = new Map<string, ReplayedFiles>()
  const under = (dir: string) => {
    const prefix = directoryPrefix(dir)
    return [...model.keys()].filter((k) => k.startsWith(prefix))
  }
  for await (const e of cart.auditLog()) {
    switch (e.action) {
      case 'write':
        model.set(e.path, e.sha256 ? hex(e.sha256) : '?')
        break
      case 'db.write':
        model.set(e.path, '?')
        break
      case 'delete':
        model.delete(e.path)
        break
      case 'delete-tree':
        for (const k of under(e.path)) model.delete(k)
        break
      case 'rename': {
        const file = model.get(e.path)
        if (file !== undefined) {
          model.delete(e.path)
          model.set(e.target, file)
        } else {
          for (const k of under(e.path)) {
            model.set(e.target + k.slice(e.path.length), model.get(k)!)
            model.delete(k)
          }
        }
        break
      }
      case 'snapshot.create':
        snapshots.set(e.target, new Map(model))
        break
      case 'snapshot.restore':
        model = new Map(snapshots.get(e.target))
        break
      case 'snapshot.delete':
        snapshots.delete(e.target)
        break
    }
  }
  return model
}

/** Differences between what the log says and what the container holds (empty: they agree). */
export async function auditDisagreements(cart: Cartridge, files: Map<string, Uint8Array>): Promise<string[]> {
  const replayed = await replayAudit(cart)
  const out: string[] = []
  for (const [p, data] of files) {
    const want = replayed.get(p)
    if (want === undefined) out.push(`${p} exists but the log never created it`)
    else if (want !== '?' && want !== hex(createHash('sha256').update(data).digest())) out.push(`${p} differs from its last logged write`)
  }
  for (const p of replayed.keys()) if (!files.has(p)) out.push(`${p} is in the log but not in the container`)
  return out
}
