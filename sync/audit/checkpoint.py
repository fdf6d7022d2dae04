"""Signed checkpoints: a tree head (origin, size, root, time) signed with Ed25519.

The text is the transparency-log checkpoint of C2SP ``tlog-checkpoint`` inside a C2SP
``signed-note``, so it can be read by eye and checked offline with common tooling::

    hr2bi.example.com/audit           <- origin: which log
    1042                              <- tree size (number of events)
    2T8ZcNbnxz8WfS...=                <- base64 RFC 6962 root hash
    timestamp 2026-11-23T04:20:00Z    <- extension line: when it was signed
                                      <- blank line ends the signed text
    — hr2bi.example.com/audit AbCd...= <- key name, base64(key id || Ed25519 signature)

The signature covers the text up to and including the newline before the blank line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from sync.audit.errors import CheckpointError, SigningKeyError
from sync.audit.merkle import HASH_SIZE

PRIVATE_KEY_FILE = "audit-signing-key.pem"
PUBLIC_KEY_FILE = "audit-signing-key.pub.pem"
_SIGNATURE_PREFIX = "\u2014 "  # signed-note: an em dash and a space start a signature line
_ED25519_ALGORITHM = b"\x01"  # signed-note key id: 0x01 names Ed25519


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log ``origin`` had ``size`` events with Merkle root ``root``."""

    origin: str
    size: int
    root: bytes
    timestamp: datetime

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or self.origin != self.origin.strip():
            raise CheckpointError(f"origin must be one non-blank line, not {self.origin!r}")
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise CheckpointError("size must be >= 0 and root a 32-byte SHA-256 hash")
        if self.timestamp.tzinfo is None:
            raise CheckpointError("checkpoint timestamp must carry a timezone")

    def text(self) -> bytes:
        """The signed text (tlog-checkpoint lines), ending in a newline."""
        when = self.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.size}\n{root}\ntimestamp {when}\n".encode()


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    key_name: str
    key_id: bytes
    signature: bytes

    def note(self) -> str:
        """The whole signed note, as written to ``checkpoint.txt``."""
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{self.checkpoint.text().decode()}\n{_SIGNATURE_PREFIX}{self.key_name} {blob}\n"


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """signed-note key id: the first 4 bytes of SHA-256(name || "\\n" || 0x01 || key)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519_ALGORITHM + raw).digest()[:4]


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> SignedCheckpoint:
    """Sign under the key name ``origin``, as transparency logs conventionally do."""
    name = checkpoint.origin
    return SignedCheckpoint(
        checkpoint=checkpoint,
        key_name=name,
        key_id=key_id(name, private_key.public_key()),
        signature=private_key.sign(checkpoint.text()),
    )


def verify_checkpoint(signed: SignedCheckpoint, public_key: Ed25519PublicKey) -> None:
    """Raise CheckpointError unless ``public_key`` made this signature over this text."""
    if signed.key_id != key_id(signed.key_name, public_key):
        raise CheckpointError("checkpoint was signed with a different key than the one given")
    try:
        public_key.verify(signed.signature, signed.checkpoint.text())
    except InvalidSignature as exc:
        raise CheckpointError("checkpoint signature does not verify: it was altered") from exc


def parse_checkpoint(note: str) -> SignedCheckpoint:
    """Read a signed note written by ``SignedCheckpoint.note``; CheckpointError if malformed."""
    text, sep, signatures = note.partition("\n\n")
    if not sep:
        raise CheckpointError("checkpoint has no blank line before its signature")
    checkpoint = _parse_body(text.split("\n"))
    line = signatures.split("\n")[0]
    if not line.startswith(_SIGNATURE_PREFIX):
        raise CheckpointError("checkpoint signature line must start with an em dash")
    name, _, blob = line[len(_SIGNATURE_PREFIX) :].rpartition(" ")
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("checkpoint signature is not base64") from exc
    if not name or len(raw) != 4 + 64:
        raise CheckpointError("checkpoint signature line is not 'name base64(id+signature)'")
    return SignedCheckpoint(checkpoint, name, raw[:4], raw[4:])


def _parse_body(lines: list[str]) -> Checkpoint:
    if len(lines) != 4 or not lines[3].startswith("timestamp "):
        raise CheckpointError("checkpoint body must be origin, size, root and timestamp lines")
    origin, size, root, stamp = lines
    try:
        when = datetime.strptime(stamp.removeprefix("timestamp "), "%Y-%m-%dT%H:%M:%SZ")
        return Checkpoint(
            origin=origin,
            size=int(size) if size.isdigit() else -1,
            root=base64.b64decode(root, validate=True),
            timestamp=when.replace(tzinfo=UTC),
        )
    except (ValueError, binascii.Error) as exc:
        raise CheckpointError(f"checkpoint body is malformed: {exc}") from exc


def read_checkpoint(path: Path) -> SignedCheckpoint:
    try:
        return parse_checkpoint(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc


def generate_key_files(out_dir: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: the private key PEM readable by its owner only (0600)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / PRIVATE_KEY_FILE, out_dir / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise SigningKeyError(f"{path} already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL + mode 0600: the key is never, even briefly, readable by others.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(private_pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot load private key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"cannot load public key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return key
