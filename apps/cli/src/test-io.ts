import { Writable } from 'node:stream'

/** A writable stream that keeps what it is given (for tests of the CLI's output). */
export function capture(tty = false) {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk))
      cb()
    },
  }) as Writable & { isTTY?: boolean; columns?: number }
  if (tty) Object.assign(stream, { isTTY: true, columns: 100 })
  return { stream, bytes: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString('utf8') }
}
