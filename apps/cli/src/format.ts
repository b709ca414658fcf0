/** Human-readable sizes in binary units: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** A date as `YYYY-MM-DD HH:MM:SS` in UTC, stable across machines. */
export function formatDate(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ')
}

/** `1 file`, `2 files`: a count with its noun, plural when it is not 1. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** A value as text: NULL empty (as the sqlite3 shell shows it), blobs as `x'…'`. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`
  return String(v)
}

/** Aligned columns under a header and a dashed rule, like the sqlite3 shell's `.mode column`. */
export function toTable(columns: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map(cellText))
  const widths = columns.map((c, i) => cells.reduce((w, r) => Math.max(w, r[i].length), Math.max(c.length, 1)))
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd() + '\n'
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('')
}
