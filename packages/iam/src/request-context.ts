import { expectObject, invalidArgument, isPlainObject, show } from './validation.js'

/**
 * What the container knows about a request besides its action and path: the facts that
 * statement conditions test. Every field is optional; a condition on a field that is absent
 * is false (see {@link Conditions}).
 */
export interface RequestContext {
  /** Who is asking (a user or service name); condition key `principal`. */
  principal?: string
  /** Free-form request tags; condition key `tag:<name>` reads `tags[name]`. */
  tags?: Record<string, string>
  /** Where the request came from, e.g. `'api'`, `'cli'`, `'sqlite'`; condition key `source`. */
  source?: string
  /** The time the request is judged at; condition key `time`. Absent: the clock at evaluation. */
  time?: Date
  /** Bytes of a write; condition key `size`. Absent for requests that write nothing. */
  size?: number
}

/** A checked {@link RequestContext}, with the time resolved to ms since the epoch. */
export interface ResolvedContext {
  readonly principal: string | undefined
  readonly source: string | undefined
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly time: number
  readonly size: number | undefined
}

const FIELDS = ['principal', 'tags', 'source', 'time', 'size'] as const

/**
 * Checks a request context and resolves its time (`now()` when `time` is absent). Fields set to
 * `undefined` count as absent.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for an unknown field, a field of the wrong
 * type, an invalid `Date`, a tag value that is not a string, or a `size` that is not a
 * non-negative finite number.
 */
export function resolveContext(context: RequestContext | undefined, now: () => number = Date.now): ResolvedContext {
  if (context === undefined) return { principal: undefined, source: undefined, tags: undefined, time: now(), size: undefined }
  const c = expectObject(context, FIELDS, 'the request context')
  const { principal, source, tags, time, size } = c
  if (principal !== undefined && typeof principal !== 'string') invalidArgument(`context.principal must be a string, not ${show(principal)}`)
  if (source !== undefined && typeof source !== 'string') invalidArgument(`context.source must be a string, not ${show(source)}`)
  if (tags !== undefined) {
    if (!isPlainObject(tags)) invalidArgument('context.tags must be a plain object of strings')
    for (const k in tags) {
      const v = (tags as Record<string, unknown>)[k]
      if (Object.hasOwn(tags, k) && typeof v !== 'string') invalidArgument(`context.tags[${JSON.stringify(k)}] must be a string, not ${show(v)}`)
    }
  }
  if (time !== undefined && !(time instanceof Date && Number.isFinite(time.getTime()))) invalidArgument('context.time must be a valid Date')
  if (size !== undefined && !(typeof size === 'number' && Number.isFinite(size) && size >= 0)) invalidArgument(`context.size must be a non-negative number of bytes, not ${show(size)}`)
  return {
    principal: principal as string | undefined,
    source: source as string | undefined,
    tags: tags as Record<string, string> | undefined,
    time: time === undefined ? now() : (time as Date).getTime(),
    size: size as number | undefined,
  }
}
