"""The audit package's error tree: one base class, each error says what is wrong and where."""

from __future__ import annotations

from enum import StrEnum

from sync.errors import UserError


class AuditError(UserError):
    """Base of every audit error; ``str(exc)`` is one line fit for a terminal."""


class CanonicalJSONError(AuditError):
    """A value cannot be written as RFC 8785 canonical JSON (NaN, a set, a huge integer...)."""


class InvalidProof(AuditError):
    """A Merkle inclusion, consistency or range proof does not verify."""


class CheckpointError(AuditError):
    """A checkpoint is malformed, or its signature does not verify with the given key."""


class SigningKeyError(AuditError):
    """A signing or public key file is missing, unreadable or not an Ed25519 key."""


class EventError(AuditError):
    """An audit event lacks a required field or has one of the wrong type."""


class NoSigningKey(SigningKeyError):
    """No signing key is configured, so nothing can be signed or exported."""


class NothingToExport(AuditError):
    """The requested range holds no audit events."""


class Reason(StrEnum):
    MISSING_FILE = "missing-file"
    MANIFEST_MISMATCH = "manifest-mismatch"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    WRONG_LOG = "wrong-log"
    EVENT_MALFORMED = "event-malformed"
    NOT_CANONICAL = "not-canonical"
    SEQUENCE_GAP = "sequence-gap"
    SEQUENCE_ORDER = "sequence-order"
    TRUNCATED = "truncated"
    ROOT_MISMATCH = "root-mismatch"
    NO_CONSISTENCY_PROOF = "no-consistency-proof"
    HISTORY_REWRITTEN = "history-rewritten"
    VIEW_MISMATCH = "view-mismatch"


class BundleInvalid(AuditError):
    """The bundle does not verify; ``reason`` says which check failed, the message why."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class LogRewritten(AuditError):
    """The stored log does not extend its last stored checkpoint: events were rewritten,
    deleted or truncated since it was signed, so nothing new is signed over them."""

    def __init__(self, checkpoint_id: int, old_size: int, new_size: int, detail: str) -> None:
        super().__init__(f"the audit log ({new_size} events) does not extend stored checkpoint "
                         f"{checkpoint_id} (size {old_size}): {detail}")
        self.checkpoint_id, self.old_size, self.new_size = checkpoint_id, old_size, new_size
