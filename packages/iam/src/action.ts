import { invalidArgument, show } from './validation.js'

/**
 * The actions a statement grants or denies. The container checks one concrete action per
 * operation, on the normalized path it touches (spec/POLICY.md §3 has the full table):
 *
 * | Action | Container operations |
 * |---|---|
 * | `read` | reading a file's content |
 * | `write` | creating or changing a file |
 * | `delete` | removing a file |
 * | `list` | readdir, list, scan: a listing returns only the entries the caller may `list` |
 * | `metadata` | stat, exists |
 * | `snapshot:create`, `snapshot:restore`, `snapshot:delete` | those snapshot operations (on `/`) |
 * | `snapshot:read` | every read through a snapshot view, on the path read |
 * | `vacuum` | vacuum (on `/`) |
 * | `sqlite:read`, `sqlite:write` | opening a SQLite database read-only / read-write, on the database's path |
 * | `engram:freeze` | freezing the container into an engram (on `/`) |
 * | `audit:read` | reading the audit log (on `/`) |
 * | `policy:admin` | setting or reading the policy (on `/`) |
 * | `container:admin` | compression, encryption and key changes (on `/`) |
 *
 * A rename from A to B needs `delete` on A **and** `write` on B; `exists` is `metadata`;
 * readdir, list and scan are `list`. `All` (`*`) appears only in statements, as "every action";
 * a request always names one concrete action.
 */
export const Action = {
  Read: 'read',
  Write: 'write',
  Delete: 'delete',
  List: 'list',
  Metadata: 'metadata',
  SnapshotCreate: 'snapshot:create',
  SnapshotRestore: 'snapshot:restore',
  SnapshotDelete: 'snapshot:delete',
  SnapshotRead: 'snapshot:read',
  Vacuum: 'vacuum',
  SqliteRead: 'sqlite:read',
  SqliteWrite: 'sqlite:write',
  EngramFreeze: 'engram:freeze',
  AuditRead: 'audit:read',
  PolicyAdmin: 'policy:admin',
  ContainerAdmin: 'container:admin',
  All: '*',
} as const

/** One of the {@link Action} values (including `'*'`, which only statements use). */
export type Action = (typeof Action)[keyof typeof Action]

/** An action a request can name: every {@link Action} except `'*'`. */
export type ConcreteAction = Exclude<Action, '*'>

/** Every concrete action, in the order of {@link Action}. */
export const ACTIONS: readonly ConcreteAction[] = Object.freeze(
  Object.values(Action).filter((a): a is ConcreteAction => a !== Action.All),
)

const CONCRETE = new Set<string>(ACTIONS)
/** The prefixes `p` for which `p:*` is a valid pattern: `snapshot`, `sqlite`, `engram`, `audit`, `policy`, `container`. */
const PREFIXES = new Set(ACTIONS.filter((a) => a.includes(':')).map((a) => a.slice(0, a.indexOf(':'))))

/** True when `value` is a concrete action a request may name (not `'*'`). */
export function isAction(value: unknown): value is ConcreteAction {
  return typeof value === 'string' && CONCRETE.has(value)
}

/**
 * Checks an action pattern of a statement and returns the set of concrete actions it covers.
 * A pattern is a concrete action, `'*'` (all), or `'<prefix>:*'` for a prefix some action has
 * (`'snapshot:*'` is the four snapshot actions). Case matters: `'Read'` is not an action.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for anything else (`'reed'`, `'read:*'`, `'snap*'`).
 */
export function expandActionPattern(pattern: unknown): readonly ConcreteAction[] {
  if (typeof pattern !== 'string') invalidArgument(`an action pattern must be a string, not ${show(pattern)}`)
  if (pattern === Action.All) return ACTIONS
  if (CONCRETE.has(pattern)) return [pattern as ConcreteAction]
  if (pattern.endsWith(':*')) {
    const prefix = pattern.slice(0, -2)
    if (PREFIXES.has(prefix)) return ACTIONS.filter((a) => a.startsWith(prefix + ':'))
  }
  invalidArgument(
    `unknown action ${JSON.stringify(pattern)}: use one of ${[...ACTIONS].join(', ')}, '*', or one of ${[...PREFIXES].map((p) => `'${p}:*'`).join(', ')}`,
  )
}
