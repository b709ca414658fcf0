import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { CatalogVersion } from '@cartridge/catalog'
import type { Engine } from '@cartridge/engine'
import { FileOps, OPEN_ACCESS, type Access } from './file-ops.js'

/** Runs a read against the container's committed state (after pending writes settle). */
export type ReadRunner = <T>(read: (e: Engine) => T) => Promise<T>

/**
 * A read-only view of one snapshot: `read`, `readText`, `exists`, `metadata`, `list`, `readdir`
 * see the files as they were when it was taken. Every change fails with `CARTRIDGE_READ_ONLY`.
 * Each call looks the snapshot up again (by the id the first call found), so a view of a deleted
 * snapshot fails with `CARTRIDGE_NOT_FOUND` rather than read freed pages.
 */
export class SnapshotView extends FileOps {
  readonly #ref: number | string
  readonly #run: ReadRunner
  #id: number | undefined

  readonly #access: Access

  /** @internal `access`: the checks of the `snapshot()` call; every read of a snapshot is the `snapshot:read` action. */
  constructor(ref: number | string, run: ReadRunner, access: Access = OPEN_ACCESS) {
    super()
    this.#ref = ref
    this.#id = typeof ref === 'number' ? ref : undefined
    this.#run = run
    this.#access = access === OPEN_ACCESS ? access : {
      check: (_action, path, size) => access.check('snapshot:read', path, size),
      allows: (_action, path) => access.allows('snapshot:read', path),
    }
  }

  protected override access(): Access {
    return this.#access
  }

  /** Id of the snapshot (undefined until a view made from a name has read once). */
  get id(): number | undefined {
    return this.#id
  }

  protected mutate<T>(): Promise<T> {
    return Promise.reject(new CartridgeError(ErrorCodes.READ_ONLY, `snapshot ${JSON.stringify(this.#ref)} is read-only; restore it to change it`))
  }

  protected view<T>(read: (e: Engine, at: CatalogVersion | undefined) => T): Promise<T> {
    return this.#run((e) => {
      const entry = e.findSnapshot(this.#id ?? this.#ref)
      this.#id = entry.id
      return read(e, { root: entry.catalogRoot })
    })
  }
}
