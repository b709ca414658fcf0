import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

/** The calls the native VFS makes into the backend (see native/cartridge_vfs.c). */
export interface NativeBackend {
  open(name: string, flags: number): number
  read(handle: number, offset: number, length: number): number
  write(handle: number, offset: number, length: number): number
  truncate(handle: number, size: number): number
  sync(handle: number, durable: number): number
  size(handle: number): number
  access(name: string, flags: number): number
  delete(name: string, syncDir: number): number
}

/** What the addon exports. */
export interface NativeVfs {
  register(backend: NativeBackend): ArrayBuffer
  takeClosed(): number[]
  disable(): void
  vfsRegistered(): boolean
}

/** The entry point SQLite calls when the library is loaded as an extension. */
export const EXTENSION_ENTRY = 'sqlite3_cartridgevfs_init'

/**
 * Path of the addon: the binary shipped prebuilt for this platform (`prebuilds/<platform>-<arch>/`
 * in the package), else the one built at install (`build/Release/cartridge_vfs.node`).
 */
export function addonPath(): string {
  const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
  try {
    const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string }
    return nodeGypBuild.path(packageDir)
  } catch (err) {
    const built = join(packageDir, 'build', 'Release', 'cartridge_vfs.node')
    if (existsSync(built)) return built
    throw new CartridgeError(
      ErrorCodes.UNSUPPORTED,
      `the SQLite VFS addon is neither prebuilt for ${process.platform}-${process.arch} nor built; run \`npx node-gyp rebuild\` in @cartridge/vfs (needs a C compiler and Node headers)`,
      { cause: err },
    )
  }
}

let loaded: NativeVfs | undefined

/** Loads the addon once per process. */
export function loadNative(): NativeVfs {
  loaded ??= createRequire(import.meta.url)(addonPath()) as NativeVfs
  return loaded
}
