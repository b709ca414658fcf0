import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { keySource, type Engine, type EncryptionSetting } from '@cartridge/engine'
import { Action } from '@cartridge/iam'
import { resealFile, type ResealOptions } from './reseal-file.js'
import { closedError, type CartridgeCore } from './cartridge-core.js'

// The encryption operations of `Cartridge` (spec §25): encrypting a plain container and sealing
// everything under a fresh data key, both by rewriting it into a new file swapped in by one
// rename (reseal-file.ts), and changing the key or passphrase, which rewraps the data key only.

/** See `Cartridge.enableEncryption`. */
export function enableEncryption(core: CartridgeCore, key: Uint8Array | EncryptionSetting, options: ResealOptions): Promise<void> {
  const setting: EncryptionSetting = key instanceof Uint8Array ? { key } : key
  return core.refused(Action.ContainerAdmin) ?? reseal(core, 'enable encryption', setting, options, (e) => {
    if (e.encryption) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is encrypted already: use changeKey or rekey')
  })
}

/** See `Cartridge.rekey`. */
export function rekey(core: CartridgeCore, options: ResealOptions): Promise<void> {
  return core.refused(Action.ContainerAdmin) ?? reseal(core, 'rekey', undefined, options, (e) => {
    if (!e.encryption) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is not encrypted: use enableEncryption')
  })
}

/** See `Cartridge.changeKey`. */
export function changeKey(core: CartridgeCore, key: Uint8Array | EncryptionSetting): Promise<void> {
  const denied = core.refused(Action.ContainerAdmin)
  if (denied) return denied
  if (core.closed) return Promise.reject(closedError())
  const setting: EncryptionSetting = key instanceof Uint8Array ? { key } : key
  return core.queue.exclusive(async () => {
    core.queue.flushNow(true)
    core.engine.apply(() => core.as((e) => e.changeKey(setting))(core.engine))
    core.engine.commit(true)
    // The second commit writes the other meta slot: neither holds the old key slot any more.
    core.engine.commit(true)
    core.keys = keySource(setting)
  })
}

/** Rewrites the container into a new file under new sealing and swaps it in. */
function reseal(core: CartridgeCore, what: string, setting: EncryptionSetting | undefined, options: ResealOptions, precheck: (e: Engine) => void): Promise<void> {
  if (core.closed) return Promise.reject(closedError())
  if (core.engine.store.readOnly) return Promise.reject(new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only'))
  const path = core.path
  if (path === undefined) return Promise.reject(new CartridgeError(ErrorCodes.UNSUPPORTED, `${what} needs a container in a file`))
  return core.queue.exclusive(async () => {
    const src = core.engine
    precheck(src)
    core.refuseWithDatabases(what)
    core.refuseWithWriters(what)
    const encryption = setting ?? (core.keys ? { ...core.keys, scrypt: src.scryptCost } : undefined)
    if (!encryption) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${what} needs the container's key or passphrase`)
    core.queue.flushNow(true)
    const next = await resealFile(src, path, encryption, options, what === 'rekey' ? 'key.rekey' : 'encryption.enable')
    core.engine = next
    core.queue.rebind(next)
    core.guardDatabases(next)
    core.mount = undefined
    src.store.close()
    if (setting) core.keys = keySource(setting)
  })
}
