"""The ledger: an RFC 9162 Merkle tree per stream, signed checkpoints, and the offline verifier."""
