"""The contract checker the sandbox uses (sync/sandbox/contract.py), for the target's
contract tests, and where the spec's copies are."""

from __future__ import annotations

from pathlib import Path

from sync.sandbox.contract import SPEC as VENDORED_SPEC
from sync.sandbox.contract import Contract

SHARED_SPEC = Path(__file__).resolve().parents[3] / "shared" / "omni" / "openapi-provisioning.json"

__all__ = ["SHARED_SPEC", "VENDORED_SPEC", "Contract"]
