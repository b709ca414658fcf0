import type { Writable } from 'node:stream'

/** The streams and directory a command runs with; `main` gets them, so tests can run in-process. */
export interface Io {
  stdout: Writable
  /** `isTTY` and `columns` decide whether and how wide a progress bar is drawn. */
  stderr: Writable & { isTTY?: boolean; columns?: number }
  /** Directory that relative container and local paths resolve against. */
  cwd: string
}

/** Writes one line of text. */
export function println(out: Writable, line = ''): void {
  out.write(line + '\n')
}
