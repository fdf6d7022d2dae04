"""Literal audit logs for the tests: a log of N events, its leaf hashes, a key, bundles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.bundle import BundleSummary, write_bundle
from sync.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from sync.audit.events import event_leaf_hash
from sync.audit.merkle import root_hash

ORIGIN = "hr2bi.example.com/audit"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_KINDS = [
    ("user.create", {"type": "user", "id": "u-{n}", "name": "person{n}@example.com"}),
    ("group.add_member", {"type": "group", "id": "g-sales", "name": "Sales",
                          "member": {"type": "user", "name": "person{n}@example.com"}}),
    ("user.disable", {"type": "user", "id": "u-{n}", "name": "person{n}@example.com"}),
    ("import.run", {"type": "source", "id": "workday"}),
    ("group.remove_member", {"type": "group", "name": "=Finance|Ops",
                             "member": {"name": "-leaver{n}@example.com"}}),
]


def _fill(value: Any, n: int) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    return value.format(n=n) if isinstance(value, str) else value


def event(seq: int) -> dict[str, Any]:
    action, target = _KINDS[seq % len(_KINDS)]
    return {
        "seq": seq,
        "time": (START + timedelta(minutes=seq)).isoformat().replace("+00:00", "Z"),
        "actor": "token:okta-provisioning" if seq % 2 else "source:workday",
        "action": action,
        "target": _fill(target, seq),
        "before": None if seq % 3 else {"active": True, "title": "=HYPERLINK(\"x\")"},
        "after": {"active": seq % 2 == 0, "note": "line\nbreak = pipe | back\\slash"},
        "reason": {"rules": [f"mappings/groups.csv:{seq}"], "tables_version": 3},
        "run": f"run-{(seq - 1) // 10 + 1}",
        "outcome": "failed" if seq % 7 == 0 else "applied",
    }


def log(size: int) -> list[dict[str, Any]]:
    return [event(seq) for seq in range(1, size + 1)]


def leaves(events: list[dict[str, Any]]) -> list[bytes]:
    return [event_leaf_hash(e) for e in events]


def checkpoint_of(events: list[dict[str, Any]], key: Ed25519PrivateKey) -> SignedCheckpoint:
    return sign_checkpoint(Checkpoint(ORIGIN, len(events), root_hash(leaves(events)), START), key)


def export(
    out_dir: Path,
    events: list[dict[str, Any]],
    first: int,
    last: int,
    key: Ed25519PrivateKey,
    from_checkpoint: SignedCheckpoint | None = None,
) -> BundleSummary:
    return write_bundle(
        events[first - 1 : last], out_dir, key, origin=ORIGIN,
        log_leaf_hashes=lambda: leaves(events), from_checkpoint=from_checkpoint,
        now=START + timedelta(days=30), product_version="0.1.0",
    )
