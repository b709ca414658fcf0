import { createHash } from 'node:crypto'
import { userInfo } from 'node:os'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { NULL_PTR, isNullPtr, type BlockPtr, type PageIO } from '@cartridge/pager'
import {
  AuditFlags, MAX_AUDIT_ENTRIES, entryIndexOf, MerkleFrontier, appendAuditEntries, clipUtf8, dropStoredEntries, emptyAuditState, encodeAuditEntry, leafHash,
  readAuditHead, storedEntries, visitAuditPages, type AuditLogState, type AuditTail,
} from '@cartridge/audit'

/** What an operation records about itself; the trail adds index, time, principal and prevRoot. */
export interface AuditNote {
  action: string
  /** Who did it (default: the trail's current principal, else the OS user). */
  principal?: string
  path?: string
  target?: string
  size?: number
  sha256?: Uint8Array
  detail?: string
}

/** A point to roll the trail back to (an operation that failed takes its entries with it). */
export interface AuditMark {
  pending: number
  state: AuditLogState | undefined
  drop: boolean
  head: BlockPtr
}

/** SHA-256 of `data` (the content hash entries carry). */
export function contentHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

let osUser: string | undefined
/** The operating-system user, the principal of entries made without one. */
export function defaultPrincipal(): string {
  if (osUser === undefined) {
    try {
      osUser = userInfo().username
    } catch {
      osUser = `uid:${process.getuid?.() ?? 'unknown'}`
    }
  }
  return osUser
}

/**
 * The audit log of one container as the engine builds it: the committed state, the entries the
 * transaction being built has appended (in memory until its commit writes them, in the same
 * commit as the operations they describe), and the Merkle frontier that gives each entry the
 * root of everything before it.
 */
export class AuditTrail {
  /** Committed state (undefined: the log is off). */
  #committed: AuditLogState | undefined
  /** The committed head page. */
  #head: BlockPtr = NULL_PTR
  /** State being built (flags, a rotation); undefined while the log is off. */
  #state: AuditLogState | undefined
  #pending: Uint8Array[] = []
  #frontier: MerkleFrontier | undefined
  /** Stored entries are dropped at the next commit (they were rotated into an archive). */
  #drop = false
  /** Head page of the state being built as written so far (moved by a vacuum step). */
  #workHead: BlockPtr = NULL_PTR
  /** Principal of the entries appended now (set around an operation). */
  principal: string | undefined

  /** Loads the committed log at `head` (null: the log is off). */
  load(io: Pick<PageIO, 'read'>, head: BlockPtr): void {
    this.#head = head
    this.#tail = undefined
    this.#committed = isNullPtr(head) ? undefined : readAuditHead(io, head)
    this.#reset()
  }

  #reset(): void {
    this.#state = this.#committed
    this.#workHead = this.#head
    this.#pending = []
    this.#drop = false
    this.#frontier = this.#committed ? MerkleFrontier.restore(this.#committed.size, this.#committed.frontier) : undefined
  }

  /** Whether operations are logged (in the state being built). */
  get enabled(): boolean {
    return this.#state !== undefined
  }

  /** Whether reads are logged. */
  get logsReads(): boolean {
    return ((this.#state?.flags ?? 0) & AuditFlags.READS) !== 0
  }

  /** The committed head page (null when the log is off). */
  get head(): BlockPtr {
    return this.#head
  }

  /** The committed state. */
  get committed(): AuditLogState | undefined {
    return this.#committed
  }

  /** Size and root including entries not yet committed. */
  get working(): { size: number; root: Uint8Array } | undefined {
    return this.#state && { size: this.#state.size + this.#pending.length, root: this.#frontier!.root() }
  }

  /** Whether the next commit must write the log. */
  get dirty(): boolean {
    return this.#pending.length > 0 || this.#state !== this.#committed || this.#drop
  }

  /** Bytes of the entries appended since the last commit. */
  get pendingBytes(): number {
    return this.#pending.reduce((n, e) => n + 2 + e.length, 0)
  }

  /** Entries appended since the last commit. */
  get pendingCount(): number {
    return this.#pending.length
  }

  /** Switches the log on (or changes whether reads are logged); the change is itself an entry. */
  enable(reads: boolean): void {
    const flags = reads ? AuditFlags.READS : 0
    if (this.#state === undefined) {
      this.#state = emptyAuditState(flags)
      this.#frontier = new MerkleFrontier()
      this.append({ action: 'audit.enable', detail: reads ? 'reads logged' : '' })
      return
    }
    if (this.#state.flags === flags) return
    this.#state = { ...this.#state, flags }
    this.append({ action: 'audit.config', detail: reads ? 'reads logged' : 'reads not logged' })
  }

  /** Takes on the log of another container (a copy being made): its base, flags and frontier at the base; then {@link appendRaw} its entries. */
  adopt(s: AuditLogState): void {
    if (this.#state) throw new CartridgeError(ErrorCodes.CONFLICT, 'this container has an audit log already')
    this.#state = { ...emptyAuditState(s.flags), size: s.base, base: s.base, baseFrontier: s.baseFrontier, frontier: s.baseFrontier, root: MerkleFrontier.restore(s.base, s.baseFrontier).root() }
    this.#frontier = MerkleFrontier.restore(s.base, s.baseFrontier)
  }

  /** Appends an entry as it was encoded elsewhere (a copy); its index must continue the log. */
  appendRaw(bytes: Uint8Array): void {
    const s = this.#state
    if (!s) throw new CartridgeError(ErrorCodes.CONFLICT, 'audit logging is not enabled')
    const index = s.size + this.#pending.length
    if (entryIndexOf(bytes) !== index) throw new CartridgeError(ErrorCodes.CORRUPT, `audit entry ${entryIndexOf(bytes)} does not continue the log at ${index}`)
    this.#pending.push(bytes)
    this.#frontier!.append(leafHash(bytes))
  }

  /** Drops the stored entries at the next commit (after they were archived); the roots go on. */
  rotate(): void {
    if (!this.#state) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'audit logging is not enabled')
    if (this.#pending.length > 0) throw new CartridgeError(ErrorCodes.CONFLICT, 'commit before rotating the audit log')
    this.#drop = true
  }

  /** Appends an entry for an operation of the transaction being built (nothing when the log is off). */
  append(note: AuditNote): void {
    const s = this.#state
    if (!s) return
    const index = s.size + this.#pending.length
    if (index >= MAX_AUDIT_ENTRIES) throw new CartridgeError(ErrorCodes.FULL, 'the audit log is full: rotate it into an archive')
    const bytes = encodeAuditEntry({
      index, time: Date.now(), action: note.action, principal: new TextDecoder().decode(clipUtf8(note.principal ?? this.principal ?? defaultPrincipal(), 255)),
      path: note.path ?? '', target: note.target ?? '', size: note.size, sha256: note.sha256, detail: note.detail ?? '',
      prevRoot: this.#frontier!.root(),
    })
    this.#pending.push(bytes)
    this.#frontier!.append(leafHash(bytes))
  }

  mark(): AuditMark {
    return { pending: this.#pending.length, state: this.#state, drop: this.#drop, head: this.#workHead }
  }

  /** Undoes what was appended after `m`. */
  rollback(m: AuditMark): void {
    if (m.pending === this.#pending.length && m.state === this.#state && m.drop === this.#drop && m.head === this.#workHead) return
    this.#pending.length = m.pending
    this.#state = m.state
    this.#drop = m.drop
    this.#workHead = m.head
    if (!this.#state) {
      this.#frontier = undefined
      return
    }
    const f = MerkleFrontier.restore(this.#state.size, this.#state.frontier)
    for (const e of this.#pending) f.append(leafHash(e))
    this.#frontier = f
  }

  /** Writes the log's changes through `io` for the commit being made; returns the new head (the old one when unchanged). */
  flush(io: PageIO): BlockPtr {
    if (!this.dirty || !this.#state) return this.#head
    if (this.#pending.length === 0 && !this.#drop) {
      // Only moved (vacuum): its pages are written already.
      this.#flushed = { state: this.#state, head: this.#workHead }
      return this.#workHead
    }
    let s = this.#state
    if (this.#drop) s = dropStoredEntries(io, s)
    this.#flushed = appendAuditEntries(io, s, this.#workHead, this.#pending, {
      frontier: this.#drop ? undefined : this.#frontier, tail: this.#drop || this.#workHead !== this.#head ? undefined : this.#tail,
    })
    return this.#flushed.head
  }

  #flushed: { state: AuditLogState; head: BlockPtr; tail?: AuditTail } | undefined
  /** The committed last entry page as written, when this writer wrote it. */
  #tail: AuditTail | undefined

  /** The commit that wrote {@link flush}'s pages is done. */
  afterCommit(): void {
    if (this.#flushed) {
      this.#committed = this.#flushed.state
      this.#head = this.#flushed.head
      this.#tail = this.#flushed.tail
      this.#flushed = undefined
    }
    this.#reset()
  }

  /** The commit failed: back to the committed log. */
  discard(): void {
    this.#flushed = undefined
    this.#reset()
  }

  /** The state being built and its head page as written so far (vacuum moves them). */
  get workingState(): { state: AuditLogState; head: BlockPtr } | undefined {
    return this.#state && { state: this.#state, head: this.#workHead }
  }

  /** Installs a moved log (vacuum) for the next commit. */
  relocated(state: AuditLogState, head: BlockPtr): void {
    if (this.#pending.length > 0) throw new CartridgeError(ErrorCodes.CONFLICT, 'the audit log moves only in a commit of its own')
    this.#state = state
    this.#workHead = head
  }

  /** Stored entries of the committed log from `from` on. */
  entries(io: Pick<PageIO, 'read'>, from?: number): Generator<{ position: number; bytes: Uint8Array }> {
    if (!this.#committed) return (function* () {})()
    return storedEntries(io, this.#committed, from)
  }

  /** Visits the committed log's pages (see {@link visitAuditPages}). */
  visit(io: Pick<PageIO, 'read'>, onPage: (ptr: BlockPtr) => void, minTxn?: number): void {
    visitAuditPages(io, this.#head, onPage, minTxn)
  }
}
