export {
  EMPTY_ROOT, MerkleFrontier, consistencyProof, inclusionProof, leafHash, nodeHash, rootOf, verifyConsistency, verifyInclusion,
} from './merkle-tree.js'
export { consistencyProofFrom, inclusionProofFrom, rootFrom } from './streaming-proofs.js'
export type { LeafSource, RotatedBase } from './streaming-proofs.js'
export {
  AUDIT_ENTRY_VERSION, MAX_ACTION_BYTES, MAX_ENTRY_BYTES, MAX_FIELD_BYTES, MAX_PRINCIPAL_BYTES, clipUtf8, decodeAuditEntry, encodeAuditEntry,
  type AuditEntry,
} from './audit-entry.js'
export {
  AuditFlags, MAX_AUDIT_ENTRIES, appendAuditEntries, dropStoredEntries, emptyAuditState, entryIndexOf, readAuditHead, readEntryPage,
  relocateAuditPages, storedEntries, visitAuditPages, writeAuditHead, type AppendHint, type AuditLogState, type AuditTail,
} from './audit-pages.js'
