"""The compliance audit log's storage-independent core (issue 5, DESIGN.md "Audit log").

Canonical JSON (RFC 8785), RFC 6962 Merkle hashing and proofs, Ed25519-signed checkpoints,
and export bundles that ``hr2bi audit verify`` checks offline. No database access here:
the events table and the emitters feed this package plain event dicts and leaf hashes.
"""
