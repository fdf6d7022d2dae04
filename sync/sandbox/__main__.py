"""``python -m sync.sandbox``: ``hr2bi sandbox`` without loading the rest of hr2bi."""

from sync.targets.sandbox.cli import sandbox

sandbox()
