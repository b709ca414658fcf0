import { Readable, Writable } from 'node:stream'
import { CartridgeError, ErrorCodes, normalizeFilePath } from '@cartridge/core'
import { CHUNK_SIZE, ChunkWriter, checkReadRange, readContent, type Engine } from '@cartridge/engine'
import { Action } from '@cartridge/iam'
import type { WriteStreamOptions } from './cartridge-options.js'
import { closedError, throwIfAborted, type CartridgeCore } from './cartridge-core.js'
import { compressionOption, type Access } from './file-ops.js'

// Node streams over a container's files, in bounded memory: reads a run at a time, writes a
// chunk at a time (the file appears, atomically, when the stream finishes).

/** Bytes a read stream reads from the container at a time. */
const STREAM_READ = 16 * CHUNK_SIZE

/** See `Cartridge.createReadStream`; `logged`: content reads are audited. */
export function createReadStream(core: CartridgeCore, path: string, options: { start?: number; end?: number; signal?: AbortSignal }, logged: boolean): Readable {
  const p = normalizeFilePath(path)
  core.allow(Action.Read, p)
  const note = core.as((e: Engine) => e.note({ action: 'read', path: p, size: e.files.record(p)?.size, detail: 'stream' }))
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const first = await core.view((e, at) => {
      const r = e.files.record(p, at)
      if (!r) throw new CartridgeError(e.files.isDirectory(p, at) ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND, `no such file: ${p}`, { path: p })
      return { size: r.size, modified: new Date(r.modified) }
    })
    if (logged) await core.queue.mutate(note)
    let pos = options.start ?? 0
    const end = Math.min(first.size, options.end === undefined ? first.size : options.end + 1)
    while (pos < end) {
      throwIfAborted(options.signal)
      // Up to STREAM_READ bytes per look at the container (one record lookup, one run of reads),
      // handed on a 64 KiB chunk at a time.
      const bytes = await core.view((e, at) => {
        const r = e.files.record(p, at)
        if (!r || r.modified !== first.modified.getTime() || r.size !== first.size) {
          throw new CartridgeError(ErrorCodes.CONFLICT, `${p} changed while it was being read`, { path: p })
        }
        const length = Math.min(STREAM_READ - (pos % CHUNK_SIZE), end - pos)
        checkReadRange(p, pos, length)
        return readContent(e, r, p, pos, length)
      })
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(CHUNK_SIZE - ((pos + at) % CHUNK_SIZE), bytes.length - at)
        yield bytes.subarray(at, at + n)
        at += n
      }
      pos += bytes.length
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}

/** See `Cartridge.createWriteStream`; `access` checks the size a stream reaches. */
export function createWriteStream(core: CartridgeCore, path: string, options: WriteStreamOptions, access: Access): Writable {
  const p = normalizeFilePath(path)
  if (core.closed) throw closedError()
  core.allow(Action.Write, p)
  if (options.layout !== undefined && options.layout !== 'chunks' && options.layout !== 'pages') {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "layout must be 'chunks' or 'pages'", { path: p })
  }
  const setting = compressionOption(options.compression)
  const codec = setting === undefined ? core.engine.defaultCodec : setting === null ? undefined : core.engine.codecFor(setting)
  const writer = new ChunkWriter(core.engine, (op) => core.queue.mutate(core.as(op)), p, options.layout === 'pages', codec, (size) => access.check(Action.Write, p, size))
  core.writers.add(writer)
  const done = () => core.writers.delete(writer)
  return new Writable({
    signal: options.signal,
    write: (chunk: Buffer | Uint8Array, _enc, cb) => {
      writer.push(chunk).then(() => cb(), cb)
    },
    final: (cb) => {
      writer.finish().then(() => (done(), cb()), (err) => (done(), cb(err)))
    },
    destroy: (err, cb) => {
      writer.abort()
      done()
      cb(err)
    },
  })
}
