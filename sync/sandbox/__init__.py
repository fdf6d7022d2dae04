"""A local Omni-compatible BI platform: the demo's BI target and the tests'."""

from sync.sandbox.app import create_sandbox_app
from sync.sandbox.limits import SandboxConfig
from sync.sandbox.state import (
    SandboxState,
    SandboxStore,
    load_seed,
    seed_models,
)

__all__ = ["SandboxConfig", "SandboxState", "SandboxStore", "create_sandbox_app", "load_seed", "seed_models"]
