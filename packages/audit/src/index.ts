export {
  EMPTY_ROOT, MerkleFrontier, consistencyProof, inclusionProof, leafHash, nodeHash, rootOf, verifyConsistency, verifyInclusion,
} from './merkle-tree.js'
