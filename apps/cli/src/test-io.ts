import { Writable } from 'node:stream'
import { main } from './main.js'

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

/** What one in-process run of the CLI ended with: its exit code and what it printed. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI in-process with `cwd` as its directory; `bytes` is stdout as given (for binary output). */
export async function runCliRaw(cwd: string, argv: string[]): Promise<CliRun & { bytes: Buffer }> {
  const out = capture()
  const err = capture()
  const code = await main(argv, { stdout: out.stream, stderr: err.stream, cwd })
  return { code, stdout: out.text(), bytes: out.bytes(), stderr: err.text() }
}

/** {@link runCliRaw} without the stdout bytes. */
export async function runCli(cwd: string, argv: string[]): Promise<CliRun> {
  const { code, stdout, stderr } = await runCliRaw(cwd, argv)
  return { code, stdout, stderr }
}
