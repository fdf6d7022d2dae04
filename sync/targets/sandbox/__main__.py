"""``python -m sync.targets.sandbox``: ``hr2bi sandbox``."""

from sync.cli.sandbox import sandbox

sandbox()
