/**
 * The ISO 8601 forms a Date condition accepts: a calendar date (`2026-01-31`, midnight UTC) or a
 * date and time with seconds optional, a fraction optional and a zone required
 * (`2026-01-31T12:00Z`, `2026-01-31T12:00:00.5+02:00`). A time without a zone is refused:
 * it would mean the evaluating machine's local time.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysIn = (year: number, month: number) => (month === 2 && isLeap(year) ? 29 : DAYS[month - 1])

/**
 * Parses a Date condition value: an ISO 8601 string (see above) or a number of ms since the
 * epoch. Returns ms since the epoch, or `undefined` when the value is neither (or names a day or
 * time that does not exist, like `2026-02-30`).
 */
export function parseConditionDate(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string') return undefined
  const m = ISO_8601.exec(value)
  if (!m) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return undefined
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return undefined
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined
}
