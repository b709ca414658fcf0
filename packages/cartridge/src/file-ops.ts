import {
  CartridgeError, ErrorCodes, compareKeys, directoryPrefix, normalizeFilePath, normalizePath, toBytes,
} from '@cartridge/core'
import type { CatalogVersion } from '@cartridge/catalog'
import { isCodec, type Codec, type CodecName } from '@cartridge/codec'
import { contentHash } from '@cartridge/engine'
import type { CompressionSetting, Engine } from '@cartridge/engine'

/** Bytes accepted by `write`. Strings are stored as UTF-8. */
export type Data = string | Uint8Array | ArrayBuffer | ArrayBufferView

/** Options of {@link FileOps.write}. */
export interface WriteOptions {
  /**
   * Codec for this write instead of the container's (see `enableCompression`): `'none'` stores
   * it raw (already compressed media), `'lz4'`, `'zstd'`, `{ codec: 'zstd', level }`, or a codec
   * object (`zstd({ level: 19 })`, or an application codec: then every open needs it in `codecs`).
   */
  compression?: CodecName | CompressionSetting | Codec
}

/** Options for a range read. */
export interface ReadOptions {
  /** First byte to read (default 0). */
  offset?: number
  /** Bytes to read at most (default: to the end). */
  length?: number
}

/** What `metadata()` reports about a file. */
export interface FileMetadata {
  /** Normalized path. */
  path: string
  /** Size in bytes. */
  size: number
  /** When the file was first written (kept across overwrites). */
  created: Date
  /** When its content was last written. */
  modified: Date
}

/** One child of a directory, from `readdir()`. */
export interface DirEntry {
  name: string
  kind: 'file' | 'dir'
}

/**
 * The file operations shared by a container and a transaction. Subclasses decide where
 * mutations go (`mutate`) and which state reads see (`view`).
 */
/**
 * The access checks of one request, bound to its context when the call was made (so checks made
 * later, inside a queued operation, still decide for the right caller).
 */
export interface Access {
  /** Throws `CARTRIDGE_ACCESS_DENIED` unless `action` on `path` is allowed (`size`: a write's bytes). */
  check(action: string, path: string, size?: number): void
  /** Whether `action` on `path` is allowed. */
  allows(action: string, path: string): boolean
}

/** Access with no policy: everything is allowed. */
export const OPEN_ACCESS: Access = { check: () => {}, allows: () => true }

export abstract class FileOps {
  /** @internal */
  protected abstract mutate<T>(op: (e: Engine) => T): Promise<T>
  /** @internal Runs a read against the state this object sees. */
  protected abstract view<T>(read: (e: Engine, at: CatalogVersion | undefined) => T): Promise<T>

  /** @internal The access checks of the call being made (none by default). */
  protected access(): Access {
    return OPEN_ACCESS
  }

  /**
   * Creates or replaces the file at `path`. Atomic: the old content stays until the new is
   * committed. Content is compressed with the container's codec unless `options.compression` says otherwise.
   */
  write(path: string, data: Data, options: WriteOptions = {}): Promise<void> {
    let p: string
    let bytes: Uint8Array
    let compression: CompressionSetting | null | undefined
    try {
      p = normalizeFilePath(path)
      bytes = toBytes(data)
      compression = compressionOption(options.compression)
      this.access().check('write', p, bytes.length)
    } catch (err) {
      return Promise.reject(asArgError(err, path))
    }
    return this.mutate((e) => e.files.writeFile(p, bytes, compression))
  }

  /** Reads a file, or a range of it (`offset`, `length`; clamped to the file's size). */
  read(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
    return this.#withPath(path, (p) => this.#checked('read', p) ?? this.readLogged(p, (e, at) => e.files.readFile(p, at, options.offset ?? 0, options.length),
      options.offset !== undefined || options.length !== undefined ? `range ${options.offset ?? 0}+${options.length ?? 'end'}` : ''))
  }

  /** @internal Whether reads of content are logged (the container's audit log asks for it, and it can be written). */
  protected logsReads(): boolean {
    return false
  }

  /**
   * @internal A read of content: with reads logged it runs as an operation whose audit entry
   * (size and SHA-256 of what was read) commits before the bytes are returned.
   */
  protected readLogged(path: string, read: (e: Engine, at: CatalogVersion | undefined) => Uint8Array, detail: string): Promise<Uint8Array> {
    if (!this.logsReads()) return this.view(read)
    return this.mutate((e) => {
      const data = read(e, undefined)
      e.note({ action: 'read', path, size: data.length, sha256: contentHash(data), detail })
      return data
    })
  }

  /** Reads a file as UTF-8 text. */
  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.read(path))
  }

  /**
   * Deletes a file. A path ending in `/` deletes the directory's whole subtree (`'/'` deletes
   * everything). Deleting what does not exist is `CARTRIDGE_NOT_FOUND`.
   */
  delete(path: string): Promise<void> {
    return this.#withPath(path, (p) => {
      const tree = path.endsWith('/')
      const access = this.access()
      if (!tree) return this.#checked('delete', p) ?? this.mutate((e) => e.files.deleteFile(p))
      // Every file of the subtree must be deletable, or nothing is deleted.
      return this.mutate((e) => {
        if (e.files.deleteTree(p, (k) => access.check('delete', k)) === 0) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such directory: ${p}`, { path: p })
      })
    })
  }

  /** Whether a file, or a directory holding files, is at `path`. */
  exists(path: string): Promise<boolean> {
    return this.#withPath(path, (p) => this.#checked('metadata', p) ?? this.view((e, at) => p === '/' || e.files.record(p, at) !== undefined || e.files.isDirectory(p, at)))
  }

  /**
   * Moves a file or a whole directory. A file at `to` is replaced, unless `overwrite: false`
   * (then it is `CARTRIDGE_EXISTS`); a directory's `to` must not exist.
   */
  rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    let a: string
    let b: string
    const access = this.access()
    try {
      a = normalizeFilePath(from)
      b = normalizeFilePath(to)
    } catch (err) {
      return Promise.reject(err)
    }
    // A rename is a delete of each source and a write of each target (a directory: of every file in it).
    return this.mutate((e) => e.files.rename(a, b, options.overwrite ?? true, (action, path) => access.check(action, path)))
  }

  /** Size and times of a file. */
  metadata(path: string): Promise<FileMetadata> {
    return this.#withPath(path, (p) => this.#checked('metadata', p) ??
      this.view((e, at) => {
        const r = e.files.record(p, at)
        if (!r) {
          const dir = e.files.isDirectory(p, at)
          throw new CartridgeError(dir ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND, dir ? `${p} is a directory` : `no such file: ${p}`, { path: p })
        }
        return { path: p, size: r.size, created: new Date(r.created), modified: new Date(r.modified) }
      }),
    )
  }

  /** Every file path under `prefix` (a directory, or a file itself), recursively, in byte order. */
  list(prefix = '/'): Promise<string[]> {
    const access = this.access()
    return this.#withPath(prefix, (p) =>
      this.view((e, at) => {
        const out: string[] = []
        if (p !== '/' && e.files.record(p, at) && access.allows('list', p)) out.push(p)
        const dir = directoryPrefix(p)
        for (const [k] of e.catalog.entries({ prefix: dir, from: dir, at })) if (access.allows('list', k)) out.push(k)
        return out
      }),
    )
  }

  /** The immediate children of a directory: files and subdirectories, in byte order. */
  readdir(dir = '/'): Promise<DirEntry[]> {
    const access = this.access()
    return this.#withPath(dir, (p) =>
      this.view((e, at) => {
        if (p !== '/' && e.files.record(p, at)) throw new CartridgeError(ErrorCodes.NOT_A_DIRECTORY, `${p} is a file`, { path: p })
        // Under a policy, a directory shows when the caller may list it or something in it.
        const visibleDir = (d: string) => {
          if (access === OPEN_ACCESS || access.allows('list', d)) return true
          const pre = directoryPrefix(d)
          for (const [k] of e.catalog.entries({ prefix: pre, from: pre, at })) if (access.allows('list', k)) return true
          return false
        }
        const prefix = directoryPrefix(p)
        const out: DirEntry[] = []
        let from = prefix
        for (;;) {
          let next: string | undefined
          for (const [k] of e.catalog.entries({ prefix, from, at })) {
            const rest = k.slice(prefix.length)
            const slash = rest.indexOf('/')
            if (slash < 0) {
              if (access.allows('list', k)) out.push({ name: rest, kind: 'file' })
              continue
            }
            const name = rest.slice(0, slash)
            if (visibleDir(prefix + name)) out.push({ name, kind: 'dir' })
            // Skip the subtree: '0' is the character after '/'.
            next = prefix + name + '0'
            break
          }
          if (next === undefined) break
          from = next
        }
        if (out.length === 0 && p !== '/') throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such directory: ${p}`, { path: p })
        return out.sort((a, b) => compareKeys(a.name, b.name))
      }),
    )
  }

  /** Checks `action` on `p` now; a rejected promise when it is denied, else undefined (go on). */
  #checked(action: string, p: string): Promise<never> | undefined {
    try {
      this.access().check(action, p)
      return undefined
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #withPath<T>(path: string, body: (p: string) => Promise<T>): Promise<T> {
    let p: string
    try {
      p = normalizePath(path)
    } catch (err) {
      return Promise.reject(err)
    }
    return body(p)
  }
}

function asArgError(err: unknown, path: string): unknown {
  if (err instanceof TypeError) return new CartridgeError(ErrorCodes.INVALID_ARGUMENT, err.message, { path, cause: err })
  return err
}

/** A write's compression choice as the engine takes it: undefined (the container's), null (raw) or a setting. */
export function compressionOption(c: CodecName | CompressionSetting | Codec | undefined): CompressionSetting | null | undefined {
  if (c === undefined) return undefined
  if (isCodec(c)) return { codec: c }
  const setting = typeof c === 'string' ? { codec: c } : (c as CompressionSetting)
  if (typeof setting !== 'object' || setting === null || (typeof setting.codec !== 'string' && (typeof setting.codec !== 'object' || setting.codec === null))) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "compression must be 'none', 'lz4', 'zstd', { codec, level } or a codec")
  }
  return setting.codec === 'none' && setting.level === undefined ? null : setting
}
